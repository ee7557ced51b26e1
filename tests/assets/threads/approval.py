"""A graph that stops at interrupt() for a human's approval, compiled with a checkpointer that
persists to a file ($APPROVAL_STATE), as a user's graph with a database-backed one would: a second
process continues the thread."""

import os
from typing import TypedDict

from filesaver import FileSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class State(TypedDict):
    request: str
    decision: str


async def ask(state: State) -> State:
    answer = interrupt({"question": f"approve {state['request']}?"})
    return {"request": state["request"], "decision": answer}


builder = StateGraph(State)
builder.add_node("ask", ask)
builder.add_edge(START, "ask")
builder.add_edge("ask", END)
graph = builder.compile(checkpointer=FileSaver(os.environ.get("APPROVAL_STATE", "approval.pickle")))
