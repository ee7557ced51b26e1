"""A short LangGraph program with tools, for timing whole processes (`loupe exec` against plain and
against `opentelemetry-instrument`): a fake tool-calling chat model (no provider, no network), one
tool, the model and tool nodes of a ReAct loop. It prints the answer."""

import asyncio

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


class ToolCallingFake(GenericFakeChatModel):
    def bind_tools(self, tools, **kwargs):  # noqa: ANN001, ANN003 - the fake needs no schema
        return self


model = ToolCallingFake(
    messages=iter(
        [
            AIMessage("", tool_calls=[{"name": "add", "args": {"a": 25, "b": 37}, "id": "call_1"}]),
            AIMessage("25 + 37 = 62"),
        ]
    )
).bind_tools([add])


async def agent(state: MessagesState) -> MessagesState:
    return {"messages": [await model.ainvoke(state["messages"])]}


builder = StateGraph(MessagesState)
builder.add_node("agent", agent)
builder.add_node("tools", ToolNode([add]))
builder.add_edge(START, "agent")
builder.add_conditional_edges("agent", tools_condition)
builder.add_edge("tools", "agent")
graph = builder.compile()

if __name__ == "__main__":
    result = asyncio.run(graph.ainvoke({"messages": [("user", "What is 25 + 37?")]}))
    print(result["messages"][-1].content)
    assert END  # the graph ends after the second model turn
