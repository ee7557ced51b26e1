"""The MCP SDK's server as the bundled servers use it, on either generation, chosen at import.

mcp 1.x has ``FastMCP``, which holds the HTTP settings in ``settings`` and builds its app from
them; mcp 2.x has ``MCPServer`` (``mcp.server.fastmcp`` raises there), which takes them as
arguments of ``streamable_http_app()``. Everything else the servers use agrees: the constructor
(name, instructions, log_level), ``@server.tool()``, ``run_stdio_async()``, a ``ToolError`` that
becomes an error result with its message, a tool's ``Context`` (``ctx.elicit``), and
``TransportSecuritySettings``. So only the imports
and ``http_app`` differ, here; ``runtime.py`` is one code path for both.

Type checking sees the 1.x branch (the one installed for development): the 2.x names cannot be
typed there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp.server.transport_security import TransportSecuritySettings

from agentloupe.instrumentation.mcp import generation


@dataclass(frozen=True)
class HttpSettings:
    """How a server answers over streamable HTTP (the socket is bound by the runtime)."""

    host: str
    port: int
    #: no session in one replica's memory, JSON responses instead of SSE streams
    stateless: bool
    transport_security: TransportSecuritySettings


def transport_security(allowed_hosts: list[str]) -> TransportSecuritySettings:
    """The Host and Origin headers a request may carry (DNS-rebinding protection).

    Without --allowed-host: loopback names only, the settings mcp 1.x gives every server. They
    are spelled out because mcp 2.x gives them only to a host spelled 127.0.0.1, localhost or ::1.
    """
    if not allowed_hosts:
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        )
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*allowed_hosts, "127.0.0.1:*", "localhost:*"],
        allowed_origins=[f"http://{h}" for h in allowed_hosts] + ["http://127.0.0.1:*", "http://localhost:*"],
    )


if TYPE_CHECKING or generation() != 2:
    from mcp.server.fastmcp import Context
    from mcp.server.fastmcp import FastMCP as Server
    from mcp.server.fastmcp.exceptions import ToolError

    def http_app(server: Server, http: HttpSettings) -> Any:
        """FastMCP builds its app from ``settings``: they are set first."""
        server.settings.host = http.host
        server.settings.port = http.port
        if http.stateless:
            server.settings.stateless_http = True
            server.settings.json_response = True
        server.settings.transport_security = http.transport_security
        return server.streamable_http_app()

else:
    from mcp.server.mcpserver import Context
    from mcp.server.mcpserver import MCPServer as Server
    from mcp.server.mcpserver.exceptions import ToolError

    def http_app(server: Server, http: HttpSettings) -> Any:
        """MCPServer has no HTTP settings of its own: they are the app's arguments."""
        return server.streamable_http_app(
            streamable_http_path="/mcp",
            json_response=http.stateless,
            stateless_http=http.stateless,
            transport_security=http.transport_security,
            host=http.host,
        )


__all__ = [
    "Context",
    "HttpSettings",
    "Server",
    "ToolError",
    "TransportSecuritySettings",
    "http_app",
    "transport_security",
]
