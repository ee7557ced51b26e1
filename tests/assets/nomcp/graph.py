"""A LangGraph graph in a project with no MCP SDK installed: a node that answers, and says whether
anything imported ``mcp``. No agentloupe import; ``python graph.py QUESTION`` runs it as a program."""

import asyncio
import json
import sys
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    question: str
    answer: str
    mcp_imported: bool


async def answer(state: State) -> State:
    await asyncio.sleep(0.01)
    return {"answer": state["question"].upper(), "mcp_imported": "mcp" in sys.modules}


builder = StateGraph(State)
builder.add_node("answer", answer)
builder.add_edge(START, "answer")
builder.add_edge("answer", END)
graph = builder.compile(name="no-mcp")

if __name__ == "__main__":
    print(json.dumps(asyncio.run(graph.ainvoke({"question": sys.argv[1]}))))
