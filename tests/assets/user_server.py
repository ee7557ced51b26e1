"""A user's own FastMCP server: two added lines make it join the caller's trace."""

from mcp.server.fastmcp import FastMCP

import agentloupe

agentloupe.configure(service_name="user-server")  # added line 1
agentloupe.instrument_mcp()                        # added line 2

mcp = FastMCP("user", log_level="WARNING")


@mcp.tool()
async def shout(text: str) -> str:
    """Upper-case the text."""
    return text.upper() + "!"


if __name__ == "__main__":
    mcp.run("stdio")
