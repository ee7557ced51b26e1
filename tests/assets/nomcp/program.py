"""The library API in a project with no MCP SDK: configure, instrument (MCP's is a no-op there),
watch the run, shut down."""

import asyncio
import json
import sys

from graph import graph

import agentloupe

agentloupe.configure(service_name="no-mcp-program")
agentloupe.instrument_mcp()
agentloupe.instrument_langgraph()


async def main() -> None:
    async with agentloupe.watch(memory=True):
        result = await graph.ainvoke({"question": sys.argv[1]})
    print(json.dumps(result))


asyncio.run(main())
agentloupe.shutdown()
