"""Zero-code instrumentation of a whole Python process (``loupe exec``, launched MCP servers).

``start()`` runs from the bootstrap ``sitecustomize`` before the program's own
code, configured by environment only (what the parent handed down):

- telemetry from ``OTEL_*``/``AGENTLOUPE_*`` (trace files without an endpoint), set up
  when OpenTelemetry is first imported (by the program or by the instrumentation);
  the service is named after the program (``OTEL_SERVICE_NAME`` wins);
- MCP clients and servers (mcp 1.x or 2.x) instrumented, and stdio children in turn, and
  LangGraph, each the moment the program imports it (a process that never imports
  them never pays for them);
- every ``asyncio.run`` / ``anyio.run`` loop runs under the hang watchdog and
  loop monitor (``AGENTLOUPE_MEMORY=1`` adds tracemalloc);
- ``TRACEPARENT`` (set by ``loupe exec``) adopts every span the program starts with no parent
  (``telemetry/parent.py``), so the whole program is one trace under ``loupe exec``; without it
  each top-level invocation starts its own trace. Nothing is made current: a request the
  process serves keeps its caller's context, and the program sees the context it sees plainly;
- SIGTERM, when the program left it at its default, exits through the normal
  exit path so finished spans are flushed.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Coroutine
from contextlib import suppress
from pathlib import Path
from typing import Any

from agentloupe.instrumentation.importhooks import when_imported, when_whole

#: Environment carriers for a trace context handed to a child process.
TRACEPARENT_ENV = "TRACEPARENT"
TRACESTATE_ENV = "TRACESTATE"
#: Set by agentloupe's launcher: a server from mcp.json traces as the name it has there.
SERVER_NAME_ENV = "AGENTLOUPE_SERVER_NAME"
BUNDLED_SERVERS = "agentloupe.servers."
_original_runner_run: Callable[..., Any] | None = None


def program_name(argv: list[str] | None = None) -> str:
    """What the process runs: ``server`` for ``python server.py``, ``pkg.mod`` for ``-m pkg.mod``."""
    argv = list(argv if argv is not None else getattr(sys, "orig_argv", sys.argv))
    for i, arg in enumerate(argv[1:], start=1):
        if arg == "-m" and i + 1 < len(argv):
            return argv[i + 1]
        if arg == "-c":
            return "python-c"
        if not arg.startswith("-"):
            return Path(arg).stem or "python"
    return "python"


def _join_parent_trace() -> None:
    traceparent = os.environ.get(TRACEPARENT_ENV)
    if not traceparent:
        return
    from opentelemetry import trace
    from opentelemetry.context import Context
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    from agentloupe.instrumentation.telemetry.parent import adopt_roots

    carrier = {"traceparent": traceparent}
    if tracestate := os.environ.get(TRACESTATE_ENV):
        carrier["tracestate"] = tracestate
    # W3C trace context, whatever OTEL_PROPAGATORS says: it is what the parent wrote. Not made
    # current (the program sees the context it would see plainly): its root spans are adopted.
    joined = TraceContextTextMapPropagator().extract(carrier, context=Context())
    adopt_roots(trace.get_current_span(joined).get_span_context(), trace.get_tracer_provider())


def _instrument_mcp() -> None:
    from agentloupe.instrumentation import instrument_mcp
    from agentloupe.instrumentation.mcp.stdio_children import instrument_stdio_children

    instrument_mcp()
    instrument_stdio_children()


def _instrument_langgraph() -> None:
    from agentloupe.instrumentation import instrument_langgraph

    instrument_langgraph()


def _watch_every_loop() -> None:
    """Each ``asyncio.Runner.run`` (``asyncio.run``, ``anyio.run``) runs under ``watch()``."""
    global _original_runner_run
    if _original_runner_run is not None:
        return
    import asyncio

    original = asyncio.Runner.run
    from agentloupe.instrumentation.telemetry.processenv import ChildSettings

    settings = ChildSettings.from_env()

    async def watched(coro: Coroutine[Any, Any, Any]) -> Any:
        from agentloupe.instrumentation.diagnostics.watchdog import EXIT_DEADLINE, WatchdogConfig, watching

        async with watching(WatchdogConfig.from_settings(settings), memory=settings.memory) as watchdog:
            try:
                return await coro
            except asyncio.CancelledError:
                exceeded = watchdog.take_cancellation()
                if exceeded is None:
                    raise
                # A deadline the user set cancelled the program's run: one line, its own exit code.
                # Leave at once, spans flushed: a worker thread stuck in a sync node would keep
                # asyncio.run's executor shutdown (and the process) waiting forever.
                print(f"loupe: error: {exceeded}", file=sys.stderr, flush=True)
                from agentloupe.instrumentation.telemetry import setup

                setup.shutdown()
                with suppress(ValueError, OSError):
                    sys.stdout.flush()  # what the program printed before is not lost
                os._exit(EXIT_DEADLINE)

    def run(self: asyncio.Runner, coro: Any, *, context: Any = None) -> Any:
        if asyncio.iscoroutine(coro):
            coro = watched(coro)
        return original(self, coro, context=context)

    _original_runner_run = original
    asyncio.Runner.run = run  # type: ignore[method-assign]


def _flush_on_sigterm() -> None:
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def on_sigterm(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)  # through atexit: the spans are flushed

    signal.signal(signal.SIGTERM, on_sigterm)


def start() -> None:
    """Instrument this process from its environment. Called by the bootstrap ``sitecustomize``."""
    name = program_name()
    if name.startswith(BUNDLED_SERVERS):
        return  # they configure themselves (servers/runtime.py), under their own names

    def telemetry() -> None:
        from agentloupe.instrumentation import configure

        configure(default_service_name=os.environ.get(SERVER_NAME_ENV) or name)
        _join_parent_trace()

    # Set up when OpenTelemetry's API is first imported (by the program, or by an instrumentation
    # below), before any span can start: a program that makes none never pays for the SDK.
    when_imported("opentelemetry.trace", lambda: when_whole("opentelemetry", telemetry, but="opentelemetry.trace"))
    when_imported("mcp", _instrument_mcp)
    # langchain_core, not langgraph: langgraph is a namespace package, with no code to hook.
    when_imported("langchain_core", _instrument_langgraph)
    when_imported("asyncio", _watch_every_loop)  # a program that never runs a loop never pays for it
    _flush_on_sigterm()
