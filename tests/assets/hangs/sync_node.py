"""A sync node that blocks in its worker thread on a threading.Lock another part of the program holds."""

import asyncio
import threading
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict):
    x: int


held = threading.Lock()
held.acquire()  # and never released


def update_cache(state: State) -> State:
    with held:  # the stuck line: a sync node, in a worker thread
        return state


builder = StateGraph(State)
builder.add_node("locked", update_cache)
builder.add_edge(START, "locked")
builder.add_edge("locked", END)
graph = builder.compile()

if __name__ == "__main__":
    print(asyncio.run(graph.ainvoke({"x": 1})))
