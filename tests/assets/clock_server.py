"""A third-party MCP server: plain FastMCP, knows nothing about agentloupe."""

import datetime as dt
import sys
from zoneinfo import ZoneInfo

from mcp.server.fastmcp import FastMCP

mcp = FastMCP("clock", log_level="WARNING")


@mcp.tool()
async def get_current_time(timezone: str) -> str:
    """Get the current time in a timezone given as an IANA name."""
    return f"{timezone} " + dt.datetime.now(ZoneInfo(timezone)).strftime("%H:%M")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--port":
        mcp.settings.port = int(sys.argv[2])
        mcp.run("streamable-http")
    else:
        mcp.run("stdio")
