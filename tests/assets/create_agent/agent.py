"""A LangChain 1.x `create_agent` graph: a model, a tool, a middleware hook, a structured response;
the model is a fake tool-calling chat model (no provider), so the agent's real model path runs."""

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from pydantic import BaseModel


class Sum(BaseModel):
    total: float


class ToolCallingFake(GenericFakeChatModel):
    def bind_tools(self, tools, **kwargs):
        return self


async def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


class CountModelCalls(AgentMiddleware):
    calls = 0

    def before_model(self, state, runtime):
        CountModelCalls.calls += 1
        return None


def make_graph():
    model = ToolCallingFake(
        messages=iter(
            [
                AIMessage("", tool_calls=[{"name": "add", "args": {"a": 25, "b": 37}, "id": "call_1"}]),
                AIMessage("", tool_calls=[{"name": "Sum", "args": {"total": 62}, "id": "call_2"}]),
            ]
        )
    )
    return create_agent(model, tools=[add], middleware=[CountModelCalls()], response_format=Sum)
