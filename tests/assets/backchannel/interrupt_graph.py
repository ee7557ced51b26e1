"""A user's graph on the mcp 2 stack: its node calls a tool through ``langchain.mcp``, whose
default turns the server's question (an elicitation on the 2026-07-28 protocol) into a LangGraph
``interrupt()``. Checkpointed to a file ($PLACES_STATE), so another process resumes the thread.
No agentloupe import."""

import os
import sys
import warnings
from pathlib import Path
from typing import TypedDict

from langchain_core._api import LangChainBetaWarning
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

sys.path.insert(0, str(Path(__file__).parent.parent / "threads"))
from filesaver import FileSaver

warnings.filterwarnings("ignore", category=LangChainBetaWarning)
from langchain.mcp import MCPAdapter  # noqa: E402

SERVER = Path(__file__).with_name("places_server.py")


class State(TypedDict):
    city: str
    forecast: str


async def look(state: State, config: RunnableConfig) -> State:
    async with MCPAdapter(SERVER) as adapter:
        [tool] = await adapter.list_tools()
        forecast = await tool.ainvoke({"city": state["city"]}, config)
    return {"city": state["city"], "forecast": str(forecast)}


builder = StateGraph(State)
builder.add_node("look", look)
builder.add_edge(START, "look")
builder.add_edge("look", END)
graph = builder.compile(checkpointer=FileSaver(os.environ.get("PLACES_STATE", "places.pickle")))
