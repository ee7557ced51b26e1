"""A user's own FastMCP server: two added lines make it join the caller's trace."""

from plain_server import Server  # the SDK's own server, on either mcp generation

import agentloupe

agentloupe.configure(service_name="user-server")  # added line 1
agentloupe.instrument_mcp()                        # added line 2

mcp = Server("user", log_level="WARNING")


@mcp.tool()
async def shout(text: str) -> str:
    """Upper-case the text."""
    return text.upper() + "!"


if __name__ == "__main__":
    mcp.run("stdio")
