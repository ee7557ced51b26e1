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

import anyio

from agentloupe.platform.config import ServerConfig, Settings
from agentloupe.platform.errors import ServerStartError
from agentloupe.platform.sessions import launcher


@dataclass
class Launched:
    config: ServerConfig  # what was launched: a pool with another config for the name launches its own
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
                process = await launcher.launch(config, telemetry_env)
            except ServerStartError as exc:
                started.launched[name] = Launched(config, None, exc, at_ns, at_s)
            except Exception:  # anything else: the pool launches it again and says what went wrong
                continue
            else:
                started.launched[name] = Launched(config, process, None, at_ns, at_s)
        yield started
    finally:
        _current.reset(token)
        unclaimed = [item.process for item in started.launched.values() if item.process is not None]
        started.launched.clear()
        with anyio.CancelScope(shield=True):
            async with anyio.create_task_group() as tg:
                for process in unclaimed:
                    tg.start_soon(launcher.stop, process, settings.server_stop_grace_s)


def began_ns() -> int | None:
    """When this command's head start began (the run's span starts there), if it has one."""
    current = _current.get()
    return current.began_ns if current is not None else None


def pending(config: ServerConfig) -> Launched | None:
    """The head-started launch of ``config`` that no pool has claimed yet."""
    current = _current.get()
    item = current.launched.get(config.name) if current is not None else None
    return item if item is not None and item.config is config else None


def claim(config: ServerConfig) -> launcher.ServerProcess | None:
    """Take the head-started process of ``config`` (once); raise its launch error if it had one."""
    current, item = _current.get(), pending(config)
    if current is None or item is None:
        return None
    del current.launched[config.name]
    if item.error is not None:
        raise item.error
    return item.process
