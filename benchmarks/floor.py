"""The floor, with no agentloupe in it: one python process that starts a plain FastMCP stdio
server and makes one call with mcp's own client. What every `loupe` command is compared against.

    python benchmarks/floor.py          # prints the result: 5
"""

import asyncio
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

SERVER = """
from mcp.server.fastmcp import FastMCP
mcp = FastMCP("plain", log_level="WARNING")

@mcp.tool()
async def add(a: float, b: float) -> float:
    return a + b

mcp.run("stdio")
"""


async def main() -> None:
    params = StdioServerParameters(command=sys.executable, args=["-c", SERVER])
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool("add", {"a": 2, "b": 3})
        print(result.content[0].text)


if __name__ == "__main__":
    asyncio.run(main())
