"""A plain ClientSession (no platform), instrumented: calls the user's server over stdio."""

import asyncio
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

import agentloupe
from agentloupe.instrumentation.spans import traced

agentloupe.configure(service_name="user-client")
agentloupe.instrument_mcp()


async def main() -> None:
    env = {k: v for k, v in os.environ.items() if k.startswith(("OTEL_", "AGENTLOUPE_", "PATH", "HOME", "PYTHONPATH"))}
    params = StdioServerParameters(command=sys.executable, args=[sys.argv[1]], env=env)
    with traced("user request"):
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                result = await session.call_tool("shout", {"text": "hello"})
                print(result.content[0].text)


asyncio.run(main())
agentloupe.shutdown()
