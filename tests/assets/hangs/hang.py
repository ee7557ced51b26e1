"""A user's graph that hangs: node `fetch`, then node `stuck`, which holds a lock and waits for an event
nobody sets. Runs as `loupe run --graph hang.py:graph` and as a script under `loupe exec`."""

import asyncio
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict):
    x: int


lock = asyncio.Lock()


async def wait_for_result(event: asyncio.Event) -> None:
    await event.wait()  # the stuck line: nobody sets it


async def fetch(state: State) -> State:
    return {"x": state["x"] + 1}


async def stuck(state: State) -> State:
    async with lock:
        await wait_for_result(asyncio.Event())
    return state


builder = StateGraph(State)
builder.add_node("fetch", fetch)
builder.add_node("stuck", stuck)
builder.add_edge(START, "fetch")
builder.add_edge("fetch", "stuck")
builder.add_edge("stuck", END)
graph = builder.compile()

if __name__ == "__main__":
    print(asyncio.run(graph.ainvoke({"x": 1})))
