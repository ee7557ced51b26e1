"""Two `Send` branches, each holding one lock and waiting for the other's: a deadlock."""

import asyncio
import operator
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send


class State(TypedDict):
    done: Annotated[list[str], operator.add]


class Branch(TypedDict):
    name: str


first, second = asyncio.Lock(), asyncio.Lock()
both_hold = asyncio.Barrier(2)


async def take(mine: asyncio.Lock, theirs: asyncio.Lock) -> None:
    async with mine:
        await both_hold.wait()
        async with theirs:  # the other branch holds it, and waits for ours
            pass


async def branch(state: Branch) -> State:
    if state["name"] == "left":
        await take(first, second)
    else:
        await take(second, first)
    return {"done": [state["name"]]}


def fan_out(state: State) -> list[Send]:
    return [Send("branch", {"name": "left"}), Send("branch", {"name": "right"})]


builder = StateGraph(State)
builder.add_node("branch", branch)
builder.add_conditional_edges(START, fan_out, ["branch"])
builder.add_edge("branch", END)
graph = builder.compile()

if __name__ == "__main__":
    print(asyncio.run(graph.ainvoke({"done": []})))
