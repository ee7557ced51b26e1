"""A FastMCP 4 server with a tool that answers, one that fails, and one that never answers."""

import asyncio

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError

mcp = FastMCP("tricky")


@mcp.tool
async def echo(text: str) -> str:
    """Echo the text."""
    return f"echo: {text}"


@mcp.tool
async def fail() -> str:
    """Always fail."""
    raise ToolError("this tool always fails")


@mcp.tool
async def hang() -> str:
    """Never answer."""
    await asyncio.Event().wait()
    return "never"


if __name__ == "__main__":
    mcp.run(show_banner=False)
