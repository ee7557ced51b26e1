"""``loupe exec -- COMMAND``: any Python program, instrumented with no code change.

The program runs as a child process with the bootstrap folder first on
``PYTHONPATH`` (its ``sitecustomize`` instruments the process, see
``instrumentation.auto``) and the trace context of a ``loupe exec`` span in
``TRACEPARENT``: the whole program is one trace. Its stdin, stdout and stderr
are its own; SIGTERM (and SIGINT that the terminal did not already deliver to
it) is passed on; ``loupe exec`` exits with the program's code.

The program is started first (``launch``), before this process imports and sets up
its own telemetry: the two starts overlap. Its ``TRACEPARENT`` names the ids the
``loupe exec`` span then takes (``setup.preset_next_root_ids``), and the span starts
at the launch.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from agentloupe.instrumentation.auto.start import TRACEPARENT_ENV, TRACESTATE_ENV
from agentloupe.instrumentation.mcp.stdio_children import auto_environment
from agentloupe.instrumentation.telemetry.processenv import env_flag
from agentloupe.platform.config import Settings
from agentloupe.platform.errors import AgentloupeError

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
EXIT_NOT_FOUND = 127
#: Samplers under which a root span is always sampled: the program can be told "sampled" ahead.
_ALWAYS_SAMPLED = ("", "always_on", "parentbased_always_on")


class ProgramNotFound(AgentloupeError):
    exit_code = EXIT_NOT_FOUND


@dataclass
class Launched:
    """The program, started; ``ids``: the (trace, span) ids its ``loupe exec`` span is to take.

    ``process`` is None when it could not be started ahead: it then starts under its span, which
    hands it its trace context (``env`` is its environment, less that)."""

    argv: list[str]
    process: subprocess.Popen[bytes] | None
    at_ns: int
    ids: tuple[int, int] | None
    env: dict[str, str] = field(default_factory=dict)


def program_environment(settings: Settings, ids: tuple[int, int] | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(auto_environment(env, settings.telemetry_environment()))
    env.update(settings.server_environment())
    for name in (TRACEPARENT_ENV, TRACESTATE_ENV):
        env.pop(name, None)
    if ids is not None:
        env[TRACEPARENT_ENV] = f"00-{ids[0]:032x}-{ids[1]:016x}-01"
    return env


def _ids_ahead() -> tuple[int, int] | None:
    """Random ids for the ``loupe exec`` span, when it is sure to be recorded and sampled."""
    if env_flag("OTEL_SDK_DISABLED"):
        return None
    if os.environ.get("OTEL_TRACES_SAMPLER", "").strip().lower() not in _ALWAYS_SAMPLED:
        return None  # a sampler that may drop the span: the program joins a trace that is known
    rng = random.SystemRandom()
    return rng.getrandbits(128) or 1, rng.getrandbits(64) or 1


def _terminal_already_sent(signum: int) -> bool:
    """A Ctrl-C at the terminal reaches the whole foreground process group, the program included."""
    if signum != signal.SIGINT:
        return False
    try:
        return os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False


def _forward(process: subprocess.Popen[bytes], signum: int) -> None:
    if process.poll() is None and not _terminal_already_sent(signum):
        process.send_signal(signum)


def _spawn(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(argv, env=env)
    except FileNotFoundError:
        raise ProgramNotFound(f"cannot run {argv[0]!r}: no such program (check the command after --)") from None
    except PermissionError:
        raise ProgramNotFound(f"cannot run {argv[0]!r}: permission denied") from None


def launch(settings: Settings, argv: list[str], *, trace_per_invocation: bool = False) -> Launched:
    """Start ``argv`` now; signals are passed on to it from this moment.

    Not when its ``loupe exec`` span may not be sampled (``OTEL_TRACES_SAMPLER``) or telemetry is
    off: the span then hands its context down itself, once it exists (``exec_program``).
    """
    ids = None if trace_per_invocation else _ids_ahead()
    env = program_environment(settings, ids)
    if ids is None and not trace_per_invocation:
        return Launched(argv, None, time.time_ns(), None, env)
    held: list[int] = []
    started: list[subprocess.Popen[bytes]] = []

    def early(signum: int, frame: Any) -> None:  # until exec_program's receiver takes over
        if started:
            _forward(started[0], signum)
        else:
            held.append(signum)

    previous = {sig: signal.signal(sig, early) for sig in FORWARDED}
    at_ns = time.time_ns()
    try:
        process = _spawn(argv, env)
    except BaseException:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        raise
    started.append(process)
    for number in held:
        _forward(process, number)
    return Launched(argv, process, at_ns, ids, env)


async def _wait(process: subprocess.Popen[bytes]) -> int:
    import anyio

    async with anyio.create_task_group() as tg:

        async def forward() -> None:
            with anyio.open_signal_receiver(*FORWARDED) as signals:
                async for signum in signals:
                    _forward(process, signum)

        tg.start_soon(forward)
        code = await anyio.to_thread.run_sync(process.wait)
        tg.cancel_scope.cancel()
    return code


async def exec_program(launched: Launched) -> int:
    """Wait for the launched program, under its ``loupe exec`` span; its exit code (128+N when a signal N ended it)."""
    from agentloupe.instrumentation import semconv
    from agentloupe.instrumentation.spans import mark_error, traced
    from agentloupe.instrumentation.telemetry.setup import preset_next_root_ids

    argv, process = launched.argv, launched.process
    if process is not None and launched.ids is None:  # one trace per invocation: no span of its own
        code = await _wait(process)
    else:
        if launched.ids is not None:
            preset_next_root_ids(*launched.ids)
        began = launched.at_ns if process is not None else None  # started ahead: the span starts there
        with traced(semconv.SPAN_EXEC, attributes={semconv.PROCESS_COMMAND_ARGS: argv}, start_time=began) as span:
            if process is None:
                process = launched.process = _spawn(argv, _joining(launched.env))
            span.set_attribute(semconv.PROCESS_PID, process.pid)
            code = await _wait(process)
            span.set_attribute(semconv.PROCESS_EXIT_CODE, code)
            if code != 0:
                mark_error(span, "exit_code", f"{argv[0]} exited with {code}")
    if code < 0:
        return 128 - code
    sys.stdout.flush()
    return code


def _joining(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the current span's trace context, as the sampler decided it."""
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    joined = dict(env)
    if "traceparent" in carrier:
        joined[TRACEPARENT_ENV] = carrier["traceparent"]
    if carrier.get("tracestate"):
        joined[TRACESTATE_ENV] = carrier["tracestate"]
    return joined


async def not_started(argv: list[str], error: ProgramNotFound) -> int:
    """The ``loupe exec`` span of a program that could not be started, failed with ``error``."""
    from agentloupe.instrumentation import semconv
    from agentloupe.instrumentation.spans import traced

    with traced(semconv.SPAN_EXEC, attributes={semconv.PROCESS_COMMAND_ARGS: argv}):
        raise error


def reap(launched: Launched) -> int:
    """The program's exit code once it ends (this process stopped early: it is not left behind)."""
    assert launched.process is not None
    code = launched.process.wait()
    return 128 - code if code < 0 else code
