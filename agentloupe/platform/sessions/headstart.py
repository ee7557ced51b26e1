"""Servers launched first: a command's servers boot while it imports the rest.

``loupe run`` and ``loupe call`` need ``mcp`` (and a run LangGraph and LangChain) before they can
talk to a server: about half a second of imports on the CI machine, and each server needs about
as long to boot. Launching the servers before those imports overlaps the two (BENCHMARKS.md has
the figures). The pool claims each process on its first start attempt; a launch that failed is
raised there, as if the pool had launched it; what no pool claims is stopped when the command
ends. The ``start_server`` spans start when the process was launched, not when it was claimed.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from agentloupe.platform.config import Settings
from agentloupe.platform.errors import ServerStartError
from agentloupe.platform.sessions import launcher


@dataclass
class Launched:
    process: launcher.ServerProcess | None
    error: ServerStartError | None
    at_ns: int  # wall clock (a span's start time)
    at_s: float  # perf_counter (the server's ready time)


@dataclass
class HeadStart:
    began_ns: int
    launched: dict[str, Launched]


_current: ContextVar[HeadStart | None] = ContextVar("agentloupe_head_start", default=None)


@asynccontextmanager
async def head_start(settings: Settings, names: list[str], telemetry_env: dict[str, str]) -> AsyncIterator[HeadStart]:
    """Launch the servers ``names`` (those agentloupe launches) now; stop the unclaimed ones at exit."""
    started = HeadStart(began_ns=time.time_ns(), launched={})
    token = _current.set(started)
    try:
        for name in names:
            config = settings.servers.get(name)
            if config is None or not config.launched:
                continue
            at_ns, at_s = time.time_ns(), time.perf_counter()
            try:
                started.launched[name] = Launched(await launcher.launch(config, telemetry_env), None, at_ns, at_s)
            except ServerStartError as exc:
                started.launched[name] = Launched(None, exc, at_ns, at_s)
        yield started
    finally:
        _current.reset(token)
        unclaimed = [item.process for item in started.launched.values() if item.process is not None]
        started.launched.clear()
        for process in unclaimed:
            await launcher.stop(process, settings.server_stop_grace_s)


def began_ns() -> int | None:
    """When this command's head start began (the run's span starts there), if it has one."""
    current = _current.get()
    return current.began_ns if current is not None else None


def pending(name: str) -> Launched | None:
    """The head-started launch of ``name`` that no pool has claimed yet."""
    current = _current.get()
    return current.launched.get(name) if current is not None else None


def claim(name: str) -> launcher.ServerProcess | None:
    """Take the head-started process of ``name`` (once); raise its launch error if it had one."""
    current = _current.get()
    item = current.launched.pop(name, None) if current is not None else None
    if item is None:
        return None
    if item.error is not None:
        raise item.error
    return item.process
