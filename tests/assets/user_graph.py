"""A user's own LangGraph app (not the platform's), instrumented in three lines."""

import asyncio
import operator
import sys
from typing import Annotated, TypedDict

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

import agentloupe

agentloupe.configure(service_name="user-graph")
agentloupe.instrument_langgraph()

# A scripted chat model (langchain-core's fake): no LLM runs on this machine.
model = GenericFakeChatModel(messages=iter([AIMessage("plan: left and right")] * 10))


@tool
async def lookup(key: str) -> str:
    """Look a key up."""
    await asyncio.sleep(0.01)
    return key.upper()


class State(TypedDict):
    log: Annotated[list[str], operator.add]


async def plan(state: State) -> dict:
    reply = await model.ainvoke("what now?")
    return {"log": [reply.content]}


async def left(state: State) -> dict:
    return {"log": [await lookup.ainvoke({"key": "left"})]}


async def right(state: State) -> dict:
    await asyncio.sleep(0.02)
    return {"log": ["right"]}


async def inner(state: State) -> dict:
    return {"log": ["inner"]}


sub_builder = StateGraph(State)
sub_builder.add_node("inner", inner)
sub_builder.add_edge(START, "inner")
sub_builder.add_edge("inner", END)
subgraph = sub_builder.compile(name="subgraph")

builder = StateGraph(State)
builder.add_node("plan", plan)
builder.add_node("left", left)
builder.add_node("right", right)
builder.add_node("sub", subgraph)
builder.add_edge(START, "plan")
builder.add_edge("plan", "left")
builder.add_edge("plan", "right")
builder.add_edge(["left", "right"], "sub")
builder.add_edge("sub", END)
graph = builder.compile(name="fanout")


async def ask(state: State) -> dict:
    answer = interrupt("approve?")
    return {"log": [f"approved={answer}"]}


approval_builder = StateGraph(State)
approval_builder.add_node("ask", ask)
approval_builder.add_edge(START, "ask")
approval_builder.add_edge("ask", END)
approval = approval_builder.compile(name="approval", checkpointer=InMemorySaver())


async def main() -> None:
    mode = sys.argv[1]
    if mode == "invoke":
        print(await graph.ainvoke({"log": []}))
    elif mode == "stream":
        async for _ in graph.astream({"log": []}):
            pass
    elif mode == "events":
        async for _ in graph.astream_events({"log": []}, version="v2"):
            pass
    elif mode == "interrupt":
        config = {"configurable": {"thread_id": "thread-42"}}
        first = await approval.ainvoke({"log": []}, config)
        assert "__interrupt__" in first
        print(await approval.ainvoke(Command(resume="yes"), config))
    elif mode == "twice":
        agentloupe.instrument_langgraph()
        agentloupe.instrument_langgraph()
        await graph.ainvoke({"log": []})
        agentloupe.uninstrument_langgraph()
        agentloupe.uninstrument_langgraph()
        await graph.ainvoke({"log": []})  # not traced


asyncio.run(main())
agentloupe.shutdown()
