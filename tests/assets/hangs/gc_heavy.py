"""A node that builds a large cyclic heap and collects it: a garbage-collection pause on the loop."""

import asyncio
import gc
import time
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict):
    x: int


def _cycles(n: int) -> list:
    nodes = [[] for _ in range(n)]
    for i, node in enumerate(nodes):
        node.append(nodes[i - 1])  # every list in a cycle: only the collector frees them
    return nodes


async def churn(state: State) -> State:
    heap = _cycles(1_000_000)
    started = time.perf_counter()
    while time.perf_counter() - started < 0.3:  # a collection of at least 0.3 s, whatever the machine
        gc.collect()
    del heap
    gc.collect()
    return state


builder = StateGraph(State)
builder.add_node("churn", churn)
builder.add_edge(START, "churn")
builder.add_edge("churn", END)
graph = builder.compile()

if __name__ == "__main__":
    print(asyncio.run(graph.ainvoke({"x": 1})))
