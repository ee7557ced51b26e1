"""A developer's own chat model object: scripted, tool-calling, with token counts (no provider, no key)."""

from itertools import cycle

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage


class ToolCallingFake(GenericFakeChatModel):
    """langchain-core's fake has no ``bind_tools``: this one takes the tools and ignores them."""

    def bind_tools(self, tools, **kwargs):
        return self


def scripted() -> ToolCallingFake:
    call = {"name": "add", "args": {"a": 2, "b": 3}, "id": "call-add", "type": "tool_call"}
    return ToolCallingFake(messages=cycle([
        AIMessage("", tool_calls=[call], usage_metadata={"input_tokens": 12, "output_tokens": 7, "total_tokens": 19}),
        AIMessage("2 + 3 = 5", usage_metadata={"input_tokens": 30, "output_tokens": 5, "total_tokens": 35}),
    ]))


model = scripted()
