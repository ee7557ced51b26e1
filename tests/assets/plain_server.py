"""The MCP SDK's own server class, on whichever generation is installed: ``FastMCP`` on mcp 1.x,
``MCPServer`` on 2.x (same constructor, ``@tool()`` and ``run("stdio")``). For test servers that
are plain SDK servers, knowing nothing of agentloupe."""

from typing import Any

try:
    from mcp.server.mcpserver import MCPServer as Server

    def http_app(server: Any, port: int) -> Any:
        """mcp 2.x: the streamable HTTP app takes its settings as arguments."""
        return server.streamable_http_app(host="127.0.0.1")

except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as Server  # type: ignore[no-redef]

    def http_app(server: Any, port: int) -> Any:
        """mcp 1.x: FastMCP builds the app from its settings."""
        server.settings.port = port
        return server.streamable_http_app()


__all__ = ["Server", "http_app"]
