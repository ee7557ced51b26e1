"""Servers launched first: a command's servers boot while it imports the rest.

``loupe run`` and ``loupe call`` need ``mcp`` (and a run LangGraph and LangChain) before they can
talk to a server: about half a second of imports on the CI machine, and each server needs about
as long to boot. Launching the servers before those imports overlaps the two (BENCHMARKS.md has
the figures). The pool claims each process on its first start attempt; a launch that failed is
raised there, as if the pool had launched it; what no pool claims is stopped when the command
ends. The ``start_server`` spans start when the process was launched, not when it was claimed.

Launches leave a core to the command's imports: with fewer cores than servers plus one, the rest
are launched one by one as the earlier ones finish booting (go idle), not all at once, HTTP
servers (the longer boots) first. Booting every server together shares the cores three ways on a
2-core machine, and the imports, the longest part, finish last (BENCHMARKS.md has the figures).
A server still waiting its turn when the pool wants it is launched by the pool.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

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
    waiting: list[ServerConfig] = field(default_factory=list)  # to launch as a core frees up
    launching: dict[str, anyio.Event] = field(default_factory=dict)


#: How long a server may take to go idle before the next one is launched anyway.
TURN_LIMIT_S = 1.5


_current: ContextVar[HeadStart | None] = ContextVar("agentloupe_head_start", default=None)


@asynccontextmanager
async def head_start(settings: Settings, names: list[str], telemetry_env: dict[str, str]) -> AsyncIterator[HeadStart]:
    """Launch the servers ``names`` (those agentloupe launches); stop the unclaimed ones at exit."""
    started = HeadStart(began_ns=time.time_ns(), launched={})
    configs = [c for c in (settings.servers.get(name) for name in names) if c is not None and c.launched]
    # The longest boot first: an HTTP server loads a web server on top of the same SDK.
    configs.sort(key=lambda config: config.kind != "http")
    at_once = max(1, (os.cpu_count() or 1) - 1)
    token = _current.set(started)
    try:
        for config in configs[:at_once]:
            await _launch(started, config, telemetry_env)
        started.waiting = configs[at_once:]
        failed: BaseException | None = None
        async with anyio.create_task_group() as tg:
            if started.waiting:
                tg.start_soon(_launch_in_turn, started, telemetry_env)
            try:
                yield started
            except BaseException as exc:  # raised as it is, not in the task group's exception group
                failed = exc
            finally:
                tg.cancel_scope.cancel()
        if failed is not None:
            raise failed
    finally:
        _current.reset(token)
        unclaimed = [item.process for item in started.launched.values() if item.process is not None]
        started.launched.clear()
        with anyio.CancelScope(shield=True):
            async with anyio.create_task_group() as tg:
                for process in unclaimed:
                    tg.start_soon(launcher.stop, process, settings.server_stop_grace_s)


async def _launch(started: HeadStart, config: ServerConfig, telemetry_env: dict[str, str]) -> None:
    at_ns, at_s = time.time_ns(), time.perf_counter()
    try:
        process = await launcher.launch(config, telemetry_env)
    except ServerStartError as exc:
        started.launched[config.name] = Launched(config, None, exc, at_ns, at_s)
    except Exception:  # anything else: the pool launches it again and says what went wrong
        return
    else:
        started.launched[config.name] = Launched(config, process, None, at_ns, at_s)


async def _launch_in_turn(started: HeadStart, telemetry_env: dict[str, str]) -> None:
    """Launch the waiting servers one at a time, each once the one before it has booted."""
    while started.waiting:
        booting = [item.process for item in started.launched.values() if item.process is not None]
        if booting:
            await launcher.idle(booting[-1], limit_s=TURN_LIMIT_S)
        if not started.waiting:
            return
        config = started.waiting.pop(0)
        started.launching[config.name] = done = anyio.Event()
        try:
            with anyio.CancelScope(shield=True):  # a launch is recorded, so it is stopped if unclaimed
                await _launch(started, config, telemetry_env)
        finally:
            del started.launching[config.name]
            done.set()


def began_ns() -> int | None:
    """When this command's head start began (the run's span starts there), if it has one."""
    current = _current.get()
    return current.began_ns if current is not None else None


def pending(config: ServerConfig) -> Launched | None:
    """The head-started launch of ``config`` that no pool has claimed yet."""
    current = _current.get()
    item = current.launched.get(config.name) if current is not None else None
    return item if item is not None and item.config is config else None


async def claim(config: ServerConfig) -> launcher.ServerProcess | None:
    """Take the head-started process of ``config`` (once); raise its launch error if it had one.

    None: it was not launched ahead (a server still waiting its turn is now the pool's to launch).
    """
    current = _current.get()
    if current is None:
        return None
    current.waiting = [c for c in current.waiting if c.name != config.name]
    if (launching := current.launching.get(config.name)) is not None:
        await launching.wait()
    item = pending(config)
    if item is None:
        return None
    del current.launched[config.name]
    if item.error is not None:
        raise item.error
    return item.process
