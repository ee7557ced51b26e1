"""A program on the mcp 2 stack that sets its own `_meta` key on a call and prints what the server saw."""

import asyncio
from pathlib import Path

from fastmcp import Client


async def main() -> None:
    async with Client(Path(__file__).with_name("meta_server.py")) as client:
        result = await client.call_tool("echo_meta", {}, meta={"custom": "kept"})
    print(result.content[0].text)


asyncio.run(main())
