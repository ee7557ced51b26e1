"""``loupe exec -- COMMAND``: any Python program, instrumented with no code change.

The program runs as a child process with the bootstrap folder first on
``PYTHONPATH`` (its ``sitecustomize`` instruments the process, see
``instrumentation.auto``) and the trace context of a ``loupe exec`` span in
``TRACEPARENT``: the whole program is one trace. Its stdin, stdout and stderr
are its own; SIGTERM (and SIGINT that the terminal did not already deliver to
it) is passed on; ``loupe exec`` exits with the program's code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import anyio
from opentelemetry import propagate

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.auto.start import TRACEPARENT_ENV, TRACESTATE_ENV
from agentloupe.instrumentation.mcp.stdio_children import auto_environment
from agentloupe.instrumentation.spans import mark_error, traced
from agentloupe.platform.config import Settings
from agentloupe.platform.errors import AgentloupeError

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
EXIT_NOT_FOUND = 127


class ProgramNotFound(AgentloupeError):
    exit_code = EXIT_NOT_FOUND


def program_environment(settings: Settings, *, join_trace: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.update(auto_environment(env))
    env.update(settings.server_environment())
    for name in (TRACEPARENT_ENV, TRACESTATE_ENV):
        env.pop(name, None)
    if join_trace:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        if "traceparent" in carrier:
            env[TRACEPARENT_ENV] = carrier["traceparent"]
        if carrier.get("tracestate"):
            env[TRACESTATE_ENV] = carrier["tracestate"]
    return env


def _terminal_already_sent(signum: int) -> bool:
    """A Ctrl-C at the terminal reaches the whole foreground process group, the program included."""
    if signum != signal.SIGINT:
        return False
    try:
        return os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False


async def _wait(process: subprocess.Popen[bytes]) -> int:
    async with anyio.create_task_group() as tg:

        async def forward() -> None:
            with anyio.open_signal_receiver(*FORWARDED) as signals:
                async for signum in signals:
                    if process.poll() is None and not _terminal_already_sent(signum):
                        process.send_signal(signum)

        tg.start_soon(forward)
        code = await anyio.to_thread.run_sync(process.wait)
        tg.cancel_scope.cancel()
    return code


def _spawn(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(argv, env=env)
    except FileNotFoundError:
        raise ProgramNotFound(f"cannot run {argv[0]!r}: no such program (check the command after --)") from None
    except PermissionError:
        raise ProgramNotFound(f"cannot run {argv[0]!r}: permission denied") from None


async def exec_program(settings: Settings, argv: list[str], *, trace_per_invocation: bool = False) -> int:
    """Run ``argv`` instrumented; return its exit code (128+N when a signal N ended it)."""
    if trace_per_invocation:
        code = await _wait(_spawn(argv, program_environment(settings, join_trace=False)))
    else:
        with traced(semconv.SPAN_EXEC, attributes={semconv.PROCESS_COMMAND_ARGS: argv}) as span:
            process = _spawn(argv, program_environment(settings, join_trace=True))
            span.set_attribute(semconv.PROCESS_PID, process.pid)
            code = await _wait(process)
            span.set_attribute(semconv.PROCESS_EXIT_CODE, code)
            if code != 0:
                mark_error(span, "exit_code", f"{argv[0]} exited with {code}")
    if code < 0:
        return 128 - code
    sys.stdout.flush()
    return code
