"""Nothing leaks out of a graph: the caller's current span after ainvoke, astream and astream_events.

Prints one JSON object: for each way of running the graph, whether the caller's
current span was the same object after as before, and the trace ids of two runs
in a row with no span around them.
"""

import asyncio
import json
import operator
import sys
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from opentelemetry import trace

import agentloupe

agentloupe.configure(service_name="caller")
agentloupe.instrument_langgraph()
tracer = trace.get_tracer("caller")


class State(TypedDict):
    seen: Annotated[list[str], operator.add]


async def first(state: State) -> dict:
    with tracer.start_as_current_span("work in first"):
        await asyncio.sleep(0)
    return {"seen": ["first"]}


def second(state: State) -> dict:
    with tracer.start_as_current_span("work in second"):
        return {"seen": ["second"]}


async def branch(state: dict) -> dict:
    with tracer.start_as_current_span(f"work in branch {state['n']}"):
        await asyncio.sleep(0.01 * state["n"])
    return {"seen": [f"branch{state['n']}"]}


builder = StateGraph(State)
builder.add_node("first", first)
builder.add_node("second", second)
builder.add_node("branch", branch)
builder.add_edge(START, "first")
builder.add_edge("first", "second")
builder.add_conditional_edges("second", lambda s: [Send("branch", {"n": n}) for n in (1, 2, 3)], ["branch"])
builder.add_edge("branch", END)
graph = builder.compile(name="ctx")


async def main() -> None:
    report = {}
    with tracer.start_as_current_span("caller") as caller:
        await graph.ainvoke({"seen": []})
        report["ainvoke"] = trace.get_current_span() is caller
        async for _ in graph.astream({"seen": []}):
            pass
        report["astream"] = trace.get_current_span() is caller
        async for _ in graph.astream_events({"seen": []}, version="v2"):
            pass
        report["astream_events"] = trace.get_current_span() is caller
    before = trace.get_current_span()
    await graph.ainvoke({"seen": []})
    await graph.ainvoke({"seen": []})
    report["after_two_runs_unchanged"] = trace.get_current_span() is before
    print(json.dumps(report))


asyncio.run(main())
agentloupe.shutdown()
sys.exit(0)
