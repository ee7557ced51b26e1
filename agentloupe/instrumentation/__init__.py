"""The reusable layer: telemetry setup, spans, MCP instrumentation, logging.

Imports neither ``agentloupe.platform`` nor ``agentloupe.servers`` and works
without LangGraph, so it can instrument a user's own code.
"""

from agentloupe.instrumentation.mcp_client import instrument_mcp_client, uninstrument_mcp_client
from agentloupe.instrumentation.mcp_server import instrument_mcp_server, uninstrument_mcp_server
from agentloupe.instrumentation.telemetry import configure, flush, shutdown


def instrument_mcp() -> None:
    """Trace every MCP ``ClientSession`` and every MCP server in this process. Idempotent."""
    instrument_mcp_client()
    instrument_mcp_server()


def uninstrument_mcp() -> None:
    """Undo ``instrument_mcp()``."""
    uninstrument_mcp_client()
    uninstrument_mcp_server()


__all__ = ["configure", "flush", "shutdown", "instrument_mcp", "uninstrument_mcp"]
