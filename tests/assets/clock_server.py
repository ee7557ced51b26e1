"""A third-party MCP server: the SDK's own server (either generation), knows nothing about agentloupe."""

import datetime as dt
import sys
from zoneinfo import ZoneInfo

from plain_server import Server, http_app

mcp = Server("clock", log_level="WARNING")


@mcp.tool()
async def get_current_time(timezone: str) -> str:
    """Get the current time in a timezone given as an IANA name."""
    return f"{timezone} " + dt.datetime.now(ZoneInfo(timezone)).strftime("%H:%M")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--port":
        import uvicorn

        port = int(sys.argv[2])
        uvicorn.run(http_app(mcp, port), host="127.0.0.1", port=port, log_level="warning")
    else:
        mcp.run("stdio")
