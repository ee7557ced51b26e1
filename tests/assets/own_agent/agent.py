"""A developer's own LangGraph agents, written with no agentloupe import anywhere.

``graph``: a node opens its own MCP ``ClientSession`` to ``server.py`` (over stdio,
passing no ``env``), then a sync node makes a span of its own.
``make_fanout(tools)``: a factory that asks for the MCP tools of the config: a
ToolNode, a ``Send`` fan-out to three branches, an httpx call, a subgraph.
"""

import operator
import os
import sys
from typing import Annotated, Any

import httpx
from langchain_core.messages import AIMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import Send
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from opentelemetry import trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "server.py")
HTTPXClientInstrumentor().instrument()
tracer = trace.get_tracer("own-agent")


async def call_own_server(tool: str, arguments: dict[str, Any], meta: dict[str, Any] | None = None) -> str:
    params = StdioServerParameters(command=sys.executable, args=[SERVER])  # no env: mcp filters it
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool(tool, arguments, meta=meta)
            return result.content[0].text


class State(MessagesState):
    notes: Annotated[list[str], operator.add]


async def fetch(state: State) -> dict:
    text = state["messages"][-1].content
    return {"notes": [await call_own_server("shout", {"text": text})]}


def summarize(state: State) -> dict:  # a sync node
    with tracer.start_as_current_span("summarize notes"):
        return {"messages": [AIMessage(" | ".join(state["notes"]))]}


builder = StateGraph(State)
builder.add_node("fetch", fetch)
builder.add_node("summarize", summarize)
builder.add_edge(START, "fetch")
builder.add_edge("fetch", "summarize")
builder.add_edge("summarize", END)
graph = builder.compile(name="own")


class FanState(MessagesState):
    results: Annotated[list[str], operator.add]


def make_fanout(tools: list) -> Any:
    by_name = {t.name: t for t in tools}

    def plan(state: FanState) -> dict:
        call = {"name": "double", "args": {"n": 21}, "id": "call-double", "type": "tool_call"}
        return {"messages": [AIMessage("", tool_calls=[call])]}

    def spread(state: FanState) -> list[Send]:
        return [Send("branch", {"word": word}) for word in ("alpha", "beta", "gamma")]

    async def branch(state: dict) -> dict:
        return {"results": [await by_name["shout"].ainvoke({"text": state["word"]})]}

    async def ping(state: FanState) -> dict:
        url = os.environ.get("PING_URL")
        if url:
            async with httpx.AsyncClient() as client:
                (await client.get(url)).raise_for_status()
        return {}

    def inner(state: FanState) -> dict:
        with tracer.start_as_current_span("inner work"):
            return {"results": ["inner"]}

    sub = StateGraph(FanState)
    sub.add_node("inner", inner)
    sub.add_edge(START, "inner")
    sub.add_edge("inner", END)

    fan = StateGraph(FanState)
    fan.add_node("plan", plan)
    fan.add_node("tools", ToolNode(tools))
    fan.add_node("branch", branch)
    fan.add_node("ping", ping)
    fan.add_node("sub", sub.compile(name="subgraph"))
    fan.add_edge(START, "plan")
    fan.add_edge("plan", "tools")
    fan.add_conditional_edges("tools", spread, ["branch"])
    fan.add_edge("branch", "ping")
    fan.add_edge("ping", "sub")
    fan.add_edge("sub", END)
    return fan.compile(name="fanout")


async def make_async(config: dict) -> Any:
    """An async factory that asks for the run's config."""
    assert "configurable" in config
    return graph


def broken() -> Any:
    raise RuntimeError("no graph today")


not_a_graph = 42
