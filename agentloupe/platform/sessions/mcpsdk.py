"""The MCP SDK as the platform uses it, in one module, on either generation.

mcp 2.x renames and moves things (``McpError`` is ``MCPError``, the wire types are snake_case,
the HTTP client is httpx2, a JSON-RPC message is a union parsed by an adapter, not a root
model): the platform imports MCP names only from here, and where the generations differ this
module says so once. (The instrumentation layer patches or enriches the SDK in
``instrumentation/mcp/``; the bundled servers use it through ``servers/``.)
"""

from __future__ import annotations

from typing import Any

from agentloupe.instrumentation.mcp import generation

GENERATION = generation() or 1  # no SDK at all: the imports below say so

if GENERATION < 2:
    import httpx
    from mcp import ClientSession, McpError, types
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.message import SessionMessage
    from mcp.types import CONNECTION_CLOSED

    OFFERED_PROTOCOL_VERSION: str | None = None  # mcp 1.x's client patch records the version itself

    try:  # a private module of mcp 1.x: fall back to the values it has there
        from mcp.shared._httpx_utils import MCP_DEFAULT_SSE_READ_TIMEOUT, MCP_DEFAULT_TIMEOUT
    except ImportError:  # pragma: no cover - only when mcp moves it
        MCP_DEFAULT_TIMEOUT = 30.0
        MCP_DEFAULT_SSE_READ_TIMEOUT = 300.0
else:  # mcp 2.x (the type checker runs against 1.x: these names are 2.x's)
    import httpx2 as httpx  # type: ignore[no-redef]
    from mcp import ClientSession, types
    from mcp import MCPError as McpError  # type: ignore[attr-defined,no-redef]
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.message import SessionMessage

    CONNECTION_CLOSED: int = types.CONNECTION_CLOSED  # type: ignore[no-redef]
    #: The protocol version a session's ``initialize`` asks for (it may settle on another)
    OFFERED_PROTOCOL_VERSION: str | None = types.version.LATEST_HANDSHAKE_VERSION  # type: ignore[attr-defined,no-redef]

#: What a failed HTTP exchange raises on this generation's client (httpx, or httpx2 on mcp 2).
HTTPError: type[Exception] = httpx.HTTPError


def mcp_http_client(headers: dict[str, str]) -> Any:
    """mcp 2.x's own HTTP client (httpx2), with ``headers``: imported when an HTTP server is used."""
    from mcp.shared._httpx_utils import create_mcp_http_client

    return create_mcp_http_client(headers=headers)


def parse_message(line: bytes) -> SessionMessage:
    """One line of a stdio server's stdout as a message; ``ValueError`` if it is not JSON-RPC."""
    if GENERATION >= 2:
        return SessionMessage(types.jsonrpc_message_adapter.validate_json(line, by_name=False))  # type: ignore[attr-defined]
    return SessionMessage(types.JSONRPCMessage.model_validate_json(line))


def encode_message(message: SessionMessage) -> bytes:
    """A message as one line for a stdio server's stdin (the encoding the SDK's own stdio client uses)."""
    if GENERATION >= 2:
        return message.message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n"
    return message.message.model_dump_json(by_alias=True, exclude_none=True).encode() + b"\n"


def is_error(result: Any) -> bool:
    """A tool result's error flag (``isError`` on mcp 1.x, ``is_error`` on 2.x)."""
    return bool(getattr(result, "is_error" if GENERATION >= 2 else "isError", False))


__all__ = [
    "CONNECTION_CLOSED",
    "GENERATION",
    "MCP_DEFAULT_SSE_READ_TIMEOUT",
    "MCP_DEFAULT_TIMEOUT",
    "OFFERED_PROTOCOL_VERSION",
    "ClientSession",
    "HTTPError",
    "McpError",
    "SessionMessage",
    "encode_message",
    "httpx",
    "is_error",
    "parse_message",
    "streamable_http_client",
    "types",
]
