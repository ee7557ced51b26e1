"""The reusable layer: telemetry setup, spans, MCP and LangGraph instrumentation, watchdog.

Imports neither ``agentloupe.platform`` nor ``agentloupe.servers``, and works
without LangGraph installed (``instrument_langgraph`` imports it when called).
Nothing is patched at import time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentloupe.instrumentation.telemetry.setup import configure, flush, shutdown


def instrument_mcp(*, tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Trace every MCP client and server in this process, on mcp 1.x or 2.x. Idempotent.

    One CLIENT span per request, the trace context in ``params._meta``, and one SERVER span
    per request in the server's process, its child. On mcp 1.x agentloupe makes these spans;
    on mcp 2.x the SDK does, and agentloupe names, attributes and measures them the same way.
    ``tracer_provider``/``meter_provider``: None (default) means the global ones.
    """
    from agentloupe.instrumentation import mcp

    mcp.instrument_mcp(tracer_provider=tracer_provider, meter_provider=meter_provider)


def uninstrument_mcp() -> None:
    """Undo ``instrument_mcp()``."""
    from agentloupe.instrumentation import mcp

    mcp.uninstrument_mcp()


def instrument_langgraph(*, tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Trace graph runs, nodes, model calls and tool calls of any LangGraph app. Idempotent.

    While a node runs, its span is the current context: spans made inside it nest under it.
    """
    from agentloupe.instrumentation.langgraph.callbacks import instrument_langgraph as instrument

    instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)


def uninstrument_langgraph() -> None:
    """Undo ``instrument_langgraph()``."""
    from agentloupe.instrumentation.langgraph.callbacks import (
        uninstrument_langgraph as uninstrument,
    )

    uninstrument()


@asynccontextmanager
async def watch(
    *,
    memory: bool = False,
    timeouts: dict[str, float] | None = None,
    on_hang: str = "report",
    loop_threshold_s: float = 0.1,
) -> AsyncIterator[object]:
    """The hang watchdog and the memory probe around any async code. Durations in seconds.

    With ``instrument_langgraph()``, ``timeouts={"run": S}`` bounds each graph invocation inside and
    ``{"node": S}`` each node; with ``on_hang="cancel"`` a run past one raises ``TimeoutError``
    (``DeadlineExceeded``) naming the line it waited on.

    >>> async with agentloupe.watch(memory=True):  # doctest: +SKIP
    ...     await graph.ainvoke({"messages": [...]})
    """
    import asyncio

    from agentloupe.instrumentation.diagnostics.watchdog import DEFAULT_TIMEOUTS, WatchdogConfig, watching
    from agentloupe.instrumentation.telemetry.processenv import check_policy

    config = WatchdogConfig(
        timeouts={**DEFAULT_TIMEOUTS, **(timeouts or {})},
        policy=check_policy(on_hang),
        loop_threshold_s=loop_threshold_s,
        explicit=frozenset(timeouts or {}),
    )
    async with watching(config, memory=memory) as watchdog:
        try:
            yield watchdog
        except asyncio.CancelledError:
            exceeded = watchdog.take_cancellation()  # a deadline of ours, not the caller's cancel
            if exceeded is None:
                raise
            raise exceeded from None


__all__ = [
    "configure",
    "flush",
    "instrument_langgraph",
    "instrument_mcp",
    "shutdown",
    "uninstrument_langgraph",
    "uninstrument_mcp",
    "watch",
]


def __getattr__(name: str) -> Any:
    """``configure``, ``flush``, ``shutdown``: the telemetry module (the OpenTelemetry SDK) on first use."""
    if name in ("configure", "flush", "shutdown"):
        from agentloupe.instrumentation.telemetry import setup as telemetry

        return getattr(telemetry, name)
    raise AttributeError(f"module 'agentloupe.instrumentation' has no attribute {name!r}")
