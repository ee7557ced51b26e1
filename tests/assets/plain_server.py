"""The MCP SDK's own server class, on whichever generation is installed: ``FastMCP`` on mcp 1.x,
``MCPServer`` on 2.x (same constructor, ``@tool()`` and ``run("stdio")``). For test servers that
are plain SDK servers, knowing nothing of agentloupe."""

try:
    from mcp.server.mcpserver import MCPServer as Server
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as Server  # type: ignore[no-redef]

__all__ = ["Server"]
