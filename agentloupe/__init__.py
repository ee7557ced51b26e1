"""agentloupe: see inside an async LangGraph + MCP agent.

The whole public surface::

    import agentloupe

    agentloupe.configure(service_name="my-agent")   # OTEL_* honoured; trace files without an endpoint
    agentloupe.instrument_mcp()                      # every MCP ClientSession and server
    agentloupe.instrument_langgraph()                # graph runs, model calls, tool calls

    async with agentloupe.watch(memory=True):        # hang watchdog + memory probe
        await graph.ainvoke({"messages": [...]})

    agentloupe.shutdown()                            # bounded flush; also registered at exit
"""

from typing import TYPE_CHECKING, Any

from agentloupe._version import __version__

if TYPE_CHECKING:
    from agentloupe.instrumentation import (
        configure,
        flush,
        instrument_langgraph,
        instrument_mcp,
        shutdown,
        uninstrument_langgraph,
        uninstrument_mcp,
        watch,
    )

__all__ = [
    "__version__",
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
    """The public functions, imported on first use: `import agentloupe` (and `loupe --help`) stay cheap."""
    if name in __all__:
        from agentloupe import instrumentation

        return getattr(instrumentation, name)
    raise AttributeError(f"module 'agentloupe' has no attribute {name!r}")
