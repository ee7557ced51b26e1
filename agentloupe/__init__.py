"""agentloupe: see inside an async LangGraph + MCP agent.

The public surface::

    import agentloupe
    agentloupe.configure(service_name="my-agent")
    agentloupe.instrument_mcp()
    ...
    agentloupe.shutdown()
"""

__version__ = "0.1.0"

from agentloupe.instrumentation import (  # noqa: E402
    configure,
    flush,
    instrument_mcp,
    shutdown,
    uninstrument_mcp,
)

__all__ = ["__version__", "configure", "flush", "instrument_mcp", "shutdown", "uninstrument_mcp"]
