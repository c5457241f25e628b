"""opsbot runs on uvloop when it is installed, on asyncio's own loop when it is not."""

from __future__ import annotations

import asyncio
import sys

import pytest

from bot import eventloop


async def loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_uvloop_when_installed() -> None:
    assert eventloop.run(loop_module()).startswith("uvloop")


def test_asyncio_when_uvloop_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    assert eventloop.loop_factory() is None
    assert eventloop.run(loop_module()).startswith("asyncio")
