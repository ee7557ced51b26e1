"""A FastMCP 4 server script, as a user on the mcp 2 stack writes one (run over stdio)."""

from fastmcp import FastMCP

mcp = FastMCP("calc")


@mcp.tool
async def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


if __name__ == "__main__":
    mcp.run()
