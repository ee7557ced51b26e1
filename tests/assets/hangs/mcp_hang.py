"""A user's graph whose node calls an MCP tool that never answers (the fault server's `hang`)."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict):
    x: int


def make_graph(tools):
    hang = next(tool for tool in tools if tool.name == "hang")

    async def call_it(state: State) -> State:
        await hang.ainvoke({})  # the server never answers
        return state

    builder = StateGraph(State)
    builder.add_node("call", call_it)
    builder.add_edge(START, "call")
    builder.add_edge("call", END)
    return builder.compile()
