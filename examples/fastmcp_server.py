"""Your own FastMCP server, joining its callers' traces with two added lines.

Point `loupe` at it with an mcp.json:
    {"mcpServers": {"notes": {"command": "python", "args": ["examples/fastmcp_server.py"]}}}
    loupe run --config mcp.json "call count_words with text 'to be or not to be'"
"""

from mcp.server.fastmcp import FastMCP

import agentloupe

agentloupe.configure(service_name="notes-server")
agentloupe.instrument_mcp()

mcp = FastMCP("notes", log_level="WARNING")


@mcp.tool()
async def count_words(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


if __name__ == "__main__":
    mcp.run("stdio")
