"""MCP instrumentation for whichever generation of the SDK is installed. Neither is imported here.

- mcp 1.x (with langchain-mcp-adapters): the SDK makes no spans, so agentloupe makes them:
  ``client_v1`` (a CLIENT span per request, trace context into ``params._meta``) and
  ``server_v1`` (a SERVER span per request, parented by it); ``backchannel_v1`` the other
  direction (a server's sampling, elicitation, roots and ping requests, progress, log messages).
- mcp 2.x (with FastMCP 4 and ``langchain.mcp``): the SDK makes a CLIENT span per request (and
  injects ``_meta``) and a SERVER span per inbound message. ``v2`` uses those spans and adds what
  they lack: the same names and attributes as on 1.x, metrics, tool errors, captured content, the
  span hooks (memory, blocks). ``requests_v2`` sets what needs a place around each request, on
  either side: the watchdog's deadlines, a tool's answer kept for its span, the servers' capture.
  Never a twin span.
- both: ``stdio_children`` hands the instrumentation to stdio servers a program launches.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache
from importlib import metadata
from typing import Any

#: Set by an agent's tool wrapper so the MCP span can carry the model's tool-call id.
current_tool_call_id: ContextVar[str | None] = ContextVar("agentloupe_tool_call_id", default=None)
#: What the caller knows of the server its requests go to (agentloupe's server name, transport,
#: address, protocol version) and mcp 2's own client spans do not carry: the session pool sets it
#: around its requests, and the mcp 2 enricher adds it to their CLIENT spans.
request_attributes: ContextVar[dict[str, Any] | None] = ContextVar("agentloupe_mcp_request_attributes", default=None)


@cache
def generation() -> int | None:
    """The installed MCP SDK's major version (1 or 2), None when none is installed. Reads metadata only."""
    try:
        return int(metadata.version("mcp").split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return None


def instrument_mcp(*, tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Trace every MCP client and server in this process, on the installed generation. Idempotent;
    a no-op without an MCP SDK (it says so at debug level)."""
    if generation() is None:
        from agentloupe.instrumentation.telemetry import lazylog

        lazylog.get_logger("agentloupe.mcp").debug("no_mcp_sdk_installed", instrumented="nothing")
        return
    if generation() == 1:
        from agentloupe.instrumentation.mcp.backchannel_v1 import instrument_backchannel
        from agentloupe.instrumentation.mcp.client_v1 import instrument_mcp_client
        from agentloupe.instrumentation.mcp.server_v1 import instrument_mcp_server

        instrument_mcp_client(tracer_provider=tracer_provider, meter_provider=meter_provider)
        instrument_mcp_server(tracer_provider=tracer_provider, meter_provider=meter_provider)
        instrument_backchannel(tracer_provider=tracer_provider, meter_provider=meter_provider)
    else:
        from agentloupe.instrumentation.mcp.v2 import instrument_v2

        instrument_v2(tracer_provider=tracer_provider, meter_provider=meter_provider)


def uninstrument_mcp() -> None:
    """Undo ``instrument_mcp()``."""
    if generation() == 1:
        from agentloupe.instrumentation.mcp.backchannel_v1 import uninstrument_backchannel
        from agentloupe.instrumentation.mcp.client_v1 import uninstrument_mcp_client
        from agentloupe.instrumentation.mcp.server_v1 import uninstrument_mcp_server

        uninstrument_mcp_client()
        uninstrument_mcp_server()
        uninstrument_backchannel()
    elif generation() is not None:
        from agentloupe.instrumentation.mcp.v2 import uninstrument_v2

        uninstrument_v2()
