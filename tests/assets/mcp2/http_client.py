"""A FastMCP 4 client calling a server at the URL given. Knows nothing of agentloupe."""

import asyncio
import sys

from fastmcp import Client


async def main() -> None:
    async with Client(sys.argv[1]) as client:
        result = await client.call_tool("add", {"a": 2, "b": 3})
    print(result.content[0].text)


asyncio.run(main())
