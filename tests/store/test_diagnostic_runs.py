"""Diagnostics runs live in their own table with ``done`` as a column: migration 200 moves the records
kept in kv (whose finished state was matched in their JSON text) and nothing reads them as text again."""

from __future__ import annotations

import json

from bot.store import Store, repo
from bot.store.migrations import statements


async def test_migration_200_moves_the_records_kept_in_kv(store: Store) -> None:
    async with store.transaction() as tx:  # the store as an opsbot before migration 200 left it
        await tx.execute("DROP TABLE diagnostic_runs")
        await tx.execute("DELETE FROM schema_migrations WHERE version = 200")
        old_index = "CREATE INDEX kv_diag_unfinished ON kv (key) WHERE key LIKE 'diag:%' AND value LIKE '%f%'"
        await tx.execute(statements(tx.dialect, [old_index])[0])
        for key, done in (("diag:1", True), ("diag:2:database", False)):
            record = json.dumps({"scenario": "general", "done": done, "beat": 0, "run": ""})
            await repo.set_value(tx, key, record)
        await repo.set_value(tx, "esc:1", "1.0")
    assert await store.migrate() == [200]
    async with store.transaction() as tx:
        assert await repo.unfinished_diagnostics(tx) == [
            ("diag:2:database", '{"scenario": "general", "done": false, "beat": 0, "run": ""}')
        ]
        assert json.loads(await repo.get_diagnostics(tx, "diag:1") or "{}")["done"] is True
        assert await repo.values_with_prefix(tx, "diag:") == []
        assert await repo.get_value(tx, "esc:1") == "1.0", "other values stay in kv"
        assert await repo.forget_finished_diagnostics(tx, ["diag:1", "diag:2:database"]) == 1


async def test_done_is_a_column_whatever_the_record_says(store: Store) -> None:
    async with store.transaction() as tx:
        await repo.save_diagnostics(tx, "diag:3", '{"done":false}', done=True)  # the record's own spacing
        await repo.save_diagnostics(tx, "diag:4", "{}", done=False)
        assert [k for k, _ in await repo.unfinished_diagnostics(tx)] == ["diag:4"]
        await repo.save_diagnostics(tx, "diag:4", "{}", done=True)
        assert await repo.unfinished_diagnostics(tx) == []
