"""A stdio MCP server that dies at its first start (FAILS_ONCE_STATE names the file that remembers it)."""

import os
import sys

state = os.environ["FAILS_ONCE_STATE"]
if not os.path.exists(state):
    open(state, "w").close()
    print("first start: failing on purpose", file=sys.stderr)
    sys.exit(1)

from plain_server import Server  # noqa: E402 - the SDK's own server, on either mcp generation

mcp = Server("once", log_level="WARNING")


@mcp.tool()
async def ping() -> str:
    """Answer pong."""
    return "pong"


if __name__ == "__main__":
    mcp.run("stdio")
