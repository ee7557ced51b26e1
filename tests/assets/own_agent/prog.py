"""A developer's own program: runs the graph of agent.py, prints the answer, exits 7."""

import asyncio
import sys

from agent import graph


async def main() -> None:
    result = await graph.ainvoke({"messages": [("user", sys.argv[1])]})
    print(result["messages"][-1].content)


asyncio.run(main())
sys.exit(7)
