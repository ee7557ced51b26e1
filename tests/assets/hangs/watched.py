"""The library's watch() around a user's own graph run: a run deadline, cancel on hang."""

import asyncio
import sys

import agentloupe
from hang import graph

agentloupe.configure(default_service_name="watched")
agentloupe.instrument_langgraph()


async def main() -> None:
    try:
        async with agentloupe.watch(timeouts={"run": 2}, on_hang="cancel"):
            await graph.ainvoke({"x": 1})
    except TimeoutError as exc:
        print(f"{type(exc).__name__}: {exc}")
        sys.exit(0)


asyncio.run(main())
