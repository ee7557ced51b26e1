"""A FastMCP 4 server over streamable HTTP on the port given, as a user runs one. Knows nothing of
agentloupe."""

import sys

from fastmcp import FastMCP

mcp = FastMCP("calc-http")


@mcp.tool
async def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


if __name__ == "__main__":
    mcp.run(transport="http", host="127.0.0.1", port=int(sys.argv[1]), show_banner=False, log_level="WARNING")
