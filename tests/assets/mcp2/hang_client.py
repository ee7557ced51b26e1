"""A program on the mcp 2 stack, unmodified: a FastMCP 4 client calling a tool that answers, one
that fails and one that hangs (which it gives up on itself after 3 s)."""

import asyncio
from pathlib import Path

from fastmcp import Client


async def main() -> None:
    async with Client(Path(__file__).with_name("hang_server.py")) as client:
        echoed = await client.call_tool("echo", {"text": "hi"})
        print(echoed.content[0].text)
        failed = await client.call_tool("fail", {}, raise_on_error=False)
        print("failed:", failed.is_error)
        try:
            await asyncio.wait_for(client.call_tool("hang", {}), 3)
        except TimeoutError:
            print("hang: gave up")


asyncio.run(main())
