"""A plain LangGraph agent, instrumented with agentloupe in three lines.

    python examples/langgraph_agent.py && loupe trace
"""

import asyncio

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, MessagesState, StateGraph

import agentloupe

agentloupe.configure(service_name="example-agent")
agentloupe.instrument_langgraph()

# Swap in any chat model (init_chat_model("openai:gpt-4o-mini")); this one is scripted.
model = GenericFakeChatModel(messages=iter([AIMessage("Hello from the example agent.")]))


async def respond(state: MessagesState) -> dict:
    return {"messages": [await model.ainvoke(state["messages"])]}


builder = StateGraph(MessagesState)
builder.add_node("respond", respond)
builder.add_edge(START, "respond")
builder.add_edge("respond", END)
graph = builder.compile(name="example")


async def main() -> None:
    async with agentloupe.watch(memory=True):
        result = await graph.ainvoke({"messages": [HumanMessage("hi")]})
    print(result["messages"][-1].content)


if __name__ == "__main__":
    asyncio.run(main())
    agentloupe.shutdown()
