"""The MCP SDK as the platform uses it, in one module.

mcp 2.x renames and moves things (``FastMCP`` becomes ``MCPServer``, the client
grows its own telemetry): the platform imports MCP names only from here, so
that move is one change. (The instrumentation layer patches the SDK in
``instrumentation/mcp/``; the bundled servers use it through
``servers/runtime.py``.)
"""

from __future__ import annotations

from mcp import ClientSession, McpError, types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import SessionMessage
from mcp.types import CONNECTION_CLOSED

try:  # a private module of mcp 1.x: fall back to the values it has there
    from mcp.shared._httpx_utils import MCP_DEFAULT_SSE_READ_TIMEOUT, MCP_DEFAULT_TIMEOUT
except ImportError:  # pragma: no cover - only when mcp moves it
    MCP_DEFAULT_TIMEOUT = 30.0
    MCP_DEFAULT_SSE_READ_TIMEOUT = 300.0

__all__ = [
    "CONNECTION_CLOSED",
    "MCP_DEFAULT_SSE_READ_TIMEOUT",
    "MCP_DEFAULT_TIMEOUT",
    "ClientSession",
    "McpError",
    "SessionMessage",
    "streamable_http_client",
    "types",
]
