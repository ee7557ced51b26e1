"""The agent graph: model node -> tool node -> model node ..., every step a span.

Independent tool calls of one turn run concurrently (LangGraph's ToolNode).
Per-tool spans come from ToolNode's supported hook, ``awrap_tool_call``: a
local tool gets ``execute_tool {tool}``; an MCP tool gets its ``tools/call``
CLIENT span from the MCP instrumentation, which picks up the tool-call id.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import ToolMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from agentloupe.instrumentation import content, semconv
from agentloupe.instrumentation.diagnostics.watchdog import deadline
from agentloupe.instrumentation.langgraph import genai
from agentloupe.instrumentation.mcp import current_tool_call_id
from agentloupe.instrumentation.spans import mark_error, traced
from agentloupe.instrumentation.telemetry import metrics
from agentloupe.platform.agent.models import ModelInfo
from agentloupe.platform.agent.output import truncate_output


async def chat(model: Runnable[Any, Any], info: ModelInfo, messages: list[Any]) -> Any:
    """One call of the model, as a ``chat`` span with its deadline, attributes and metrics: the
    agent's turns, and a server's sampling request answered with the run's model."""
    attrs = genai.chat_attributes(info.provider, info.name, **{semconv.MODEL_KIND: info.kind})
    captured = content.render([m.model_dump(include={"type", "content", "tool_calls"}) for m in messages])
    if captured is not None:
        attrs[semconv.GEN_AI_INPUT_MESSAGES] = captured
    started = time.perf_counter()
    error_type = None
    try:
        with traced(f"chat {info.name}", kind=SpanKind.CLIENT, attributes=attrs) as span:
            with deadline("model", span=span):
                response = await model.ainvoke(messages)
            genai.record_response(span, response, info.provider, info.name)
            captured = content.render(response.model_dump(include={"content", "tool_calls"}))
            if captured is not None:
                span.set_attribute(semconv.GEN_AI_OUTPUT_MESSAGES, captured)
    except Exception as exc:
        error_type = type(exc).__qualname__
        raise
    finally:
        genai.record_duration(time.perf_counter() - started, info.provider, info.name, error_type)
    return response


def model_node(model: Runnable[Any, Any], info: ModelInfo) -> Callable[[MessagesState], Awaitable[dict[str, Any]]]:
    async def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await chat(model, info, state["messages"])]}

    return call_model


def cap_output(result: Any, span: Any) -> Any:
    """A tool result past the size cap is cut, with a note, for the model and in the span."""
    if isinstance(result, ToolMessage) and isinstance(result.content, str):
        result.content = truncate_output(result.content, span)
    return result


def tool_wrapper(mcp_tools: dict[str, str]) -> Callable[..., Awaitable[Any]]:
    """``awrap_tool_call`` for ToolNode: spans for local tools, the call id for MCP ones."""

    async def wrap(request: Any, execute: Callable[[Any], Awaitable[Any]]) -> Any:
        call = request.tool_call
        name, call_id = call["name"], call.get("id") or ""
        token = current_tool_call_id.set(call_id)
        try:
            if name in mcp_tools:
                return cap_output(await execute(request), trace.get_current_span())
            attrs = genai.tool_attributes(name, call_id, "local")
            captured = content.render(call.get("args", {}))
            if captured is not None:
                attrs[semconv.GEN_AI_TOOL_CALL_ARGUMENTS] = captured
            with traced(f"execute_tool {name}", attributes=attrs) as span:
                with deadline("tool", span=span):
                    result = cap_output(await execute(request), span)
                if isinstance(result, ToolMessage):
                    captured = content.render(result.content)
                    if captured is not None:
                        span.set_attribute(semconv.GEN_AI_TOOL_CALL_RESULT, captured)
                    if result.status == "error":
                        mark_error(span, "tool_error", str(result.content)[:500])
                        metrics.tool_errors().add(1, {semconv.GEN_AI_TOOL_NAME: name})
                return result
        finally:
            current_tool_call_id.reset(token)

    return wrap


def _tool_error_text(error: Exception) -> str:
    """What the model reads when a tool call raised: the error, plainly."""
    return f"{type(error).__name__}: {error}"


def build_graph(model: BaseChatModel, info: ModelInfo, tools: list[BaseTool], mcp_tools: dict[str, str]):
    """Compile the agent graph for ``tools`` (local and MCP)."""
    bound: Runnable[Any, Any] = model.bind_tools(tools) if tools else model
    graph = StateGraph(MessagesState)
    graph.add_node("model", model_node(bound, info))  # type: ignore[call-overload]  # an async node fn
    graph.add_node(
        "tools", ToolNode(tools, awrap_tool_call=tool_wrapper(mcp_tools), handle_tool_errors=_tool_error_text)
    )
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition, {"tools": "tools", END: END})
    graph.add_edge("tools", "model")
    return graph.compile()
