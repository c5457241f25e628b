"""A stand-in production database on the test cluster: a Supabase-style ``auth`` schema, an
unprivileged application role running real queries, a dedicated admin role, a superuser session."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import psycopg

from tests.pgcluster import create_database

USER_ID = "0b0e3c1e-8f6a-4c1e-9d1a-3f1b2c3d4e5f"
OTHER_ID = "7d1f6a52-2c1b-4f7e-8a3b-9c0d1e2f3a4b"

_SCHEMA = [
    "CREATE SCHEMA auth",
    "CREATE TABLE auth.users (id uuid PRIMARY KEY, email text NOT NULL,"
    " email_confirmed_at timestamptz, banned_until timestamptz)",
    "CREATE TABLE auth.sessions (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
    " user_id uuid NOT NULL REFERENCES auth.users (id))",
    "CREATE TABLE public.orders (id bigint PRIMARY KEY, status text NOT NULL)",
    "INSERT INTO public.orders VALUES (1, 'failed'), (2, 'paid')",
]


def _with_user(url: str, role: str) -> str:
    scheme, _, rest = url.partition("://")
    _, _, host = rest.partition("@")
    return f"{scheme}://{role}@{host}"


class ProdDb:
    """One throwaway 'production' database and its roles (role names are unique per instance)."""

    def __init__(self, admin_url: str) -> None:
        self.superuser_url = create_database(admin_url, prefix="prod")
        suffix = uuid.uuid4().hex[:8]
        self.app_role, self.admin_role = f"shop_app_{suffix}", f"opsbot_admin_{suffix}"
        self.replica_role = f"replica_{suffix}"
        self.app_url = _with_user(self.superuser_url, self.app_role)
        self.admin_url = _with_user(self.superuser_url, self.admin_role)
        self._tasks: list[asyncio.Task[Any]] = []
        self._conns: list[psycopg.AsyncConnection[Any]] = []
        with psycopg.connect(self.superuser_url, autocommit=True) as conn:
            for statement in _SCHEMA:
                conn.execute(statement.encode())
            conn.execute(f"CREATE ROLE {self.app_role} LOGIN".encode())
            conn.execute(f"CREATE ROLE {self.replica_role} LOGIN REPLICATION".encode())
            conn.execute(f"GRANT USAGE ON SCHEMA auth TO {self.app_role}".encode())
            conn.execute(f"GRANT SELECT, UPDATE ON auth.users TO {self.app_role}".encode())
            # The documented grants for the admin role (docs/operations.md#remediation), nothing more.
            for grant in (
                f"CREATE ROLE {self.admin_role} LOGIN",
                f"GRANT pg_signal_backend, pg_read_all_stats TO {self.admin_role}",
                f"GRANT USAGE ON SCHEMA auth TO {self.admin_role}",
                f"GRANT SELECT, DELETE ON auth.sessions TO {self.admin_role}",
                f"GRANT SELECT, UPDATE (email_confirmed_at, banned_until) ON auth.users TO {self.admin_role}",
                f"GRANT SELECT, UPDATE (status) ON public.orders TO {self.admin_role}",
            ):
                conn.execute(grant.encode())

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement as the superuser, outside opsbot."""
        with psycopg.connect(self.superuser_url, autocommit=True) as conn:
            cur = conn.execute(statement.encode(), params)
            return cur.fetchall() if cur.description else []

    def add_user(self, user_id: str, *, sessions: int) -> None:
        self.sql("INSERT INTO auth.users (id, email) VALUES (%s, %s)", (user_id, f"{user_id[:4]}@shop.test"))
        for _ in range(sessions):
            self.sql("INSERT INTO auth.sessions (user_id) VALUES (%s)", (user_id,))

    async def running(
        self,
        query: str,
        *,
        as_superuser: bool = False,
        app: str = "shop",
        role: str | None = None,
        state: str = "active",
    ) -> int:
        """Start ``query`` on its own session and leave it running; returns the backend pid."""
        url = self.superuser_url if as_superuser else _with_user(self.app_url, role or self.app_role)
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True, application_name=app)
        self._conns.append(conn)
        pid = conn.info.backend_pid
        self._tasks.append(asyncio.create_task(conn.execute(query.encode())))
        for _ in range(100):
            rows = self.sql("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,))
            if rows and rows[0][0] == state:
                break
            await asyncio.sleep(0.05)
        return pid

    def alive(self, pid: int) -> bool:
        return bool(self.sql("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)))

    def active(self, pid: int) -> bool:
        rows = self.sql("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,))
        return bool(rows) and rows[0][0] == "active"

    async def close(self) -> None:
        for pid in self.sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ):
            self.sql("SELECT pg_terminate_backend(%s)", (pid[0],))
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 5)
        for conn in self._conns:
            with contextlib.suppress(Exception):
                await conn.close()
