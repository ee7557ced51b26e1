"""One agent run and one tool call, as the CLI (and tests) drive them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import anyio
from langchain_core.messages import HumanMessage
from mcp import types
from opentelemetry import trace

from agentloupe.instrumentation import content, semconv, telemetry
from agentloupe.instrumentation.spans import mark_error, traced
from agentloupe.platform.config import Settings
from agentloupe.platform.errors import ConfigError, ToolCallError, ToolNotFoundError
from agentloupe.platform.graph import build_graph
from agentloupe.platform.models import load_model
from agentloupe.platform.sessions import SessionPool
from agentloupe.platform.tools import local_tools

AGENT_NAME = "agentloupe"


@dataclass
class RunResult:
    answer: str
    trace_id: str
    run_id: str


@dataclass
class CallResult:
    text: str
    is_error: bool
    trace_id: str


def _trace_id() -> str:
    return format(trace.get_current_span().get_span_context().trace_id, "032x")


def _child_env() -> dict[str, str]:
    current = telemetry.current()
    return current.child_environment() if current else {}


async def _shutdown(pool: SessionPool) -> None:
    with traced("shutdown") as span:
        pool.begin_close()
        await pool.close()
        span.set_attribute("agentloupe.servers.stopped", len(pool.slots))


async def run_agent(settings: Settings, question: str) -> RunResult:
    """Start the servers, run the graph on ``question``, shut down in order."""
    run_id = str(uuid.uuid4())
    with traced("loupe run", attributes={semconv.RUN_ID: run_id}) as root:
        captured = content.render(question)
        if captured is not None:
            root.set_attribute("agentloupe.run.input", captured)
        model, info = load_model(settings.model)
        pool = SessionPool(settings, _child_env())
        try:
            await pool.open()
            tools = local_tools() + pool.tools()
            graph = build_graph(model, info, tools, pool.tool_servers())
            attrs = {
                semconv.GEN_AI_OPERATION_NAME: semconv.OP_INVOKE_AGENT,
                semconv.GEN_AI_AGENT_NAME: AGENT_NAME,
                semconv.GEN_AI_CONVERSATION_ID: run_id,
                semconv.GEN_AI_REQUEST_MODEL: info.name,
            }
            with traced(f"invoke_agent {AGENT_NAME}", attributes=attrs):
                with anyio.fail_after(settings.run_timeout_s):
                    state = await graph.ainvoke(
                        {"messages": [HumanMessage(question)]},
                        config={"recursion_limit": settings.recursion_limit},
                    )
            answer = state["messages"][-1].content
            if not isinstance(answer, str):
                answer = str(answer)
        finally:
            await _shutdown(pool)
        return RunResult(answer=answer, trace_id=_trace_id(), run_id=run_id)


def parse_target(settings: Settings, target: str) -> tuple[str, str]:
    server, sep, tool = target.partition(".")
    if not sep or not server or not tool:
        raise ConfigError(f"{target!r}: name the tool as SERVER.TOOL, e.g. math.add")
    if server not in settings.servers:
        known = ", ".join(sorted(settings.servers)) or "none"
        raise ToolNotFoundError(f"unknown server {server!r}: configured servers are {known}")
    return server, tool


async def call_tool(settings: Settings, target: str, arguments: dict[str, Any]) -> CallResult:
    """Call one tool of one configured server, traced like a run: the quickest way to debug a tool."""
    server, tool = parse_target(settings, target)
    with traced("loupe call", attributes={semconv.SERVER_NAME: server, semconv.GEN_AI_TOOL_NAME: tool}) as root:
        pool = SessionPool(settings, _child_env(), only=[server])
        try:
            await pool.open()
            slot = pool.slots[server]
            names = [t.name for t in slot.tools]
            if tool not in names:
                raise ToolNotFoundError(
                    f"server {server!r} has no tool {tool!r}: it has {', '.join(sorted(names)) or 'no tools'}"
                )
            try:
                result = await pool.session(server).call_tool(tool, arguments)
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as exc:
                raise ToolCallError(f"calling {server}.{tool} failed: {exc}") from None
        finally:
            await _shutdown(pool)
        text = "\n".join(
            item.text if isinstance(item, types.TextContent) else item.model_dump_json() for item in result.content
        )
        if result.isError:
            mark_error(root, "tool_error", text[:500])
        return CallResult(text=text, is_error=bool(result.isError), trace_id=_trace_id())


__all__ = ["RunResult", "CallResult", "run_agent", "call_tool"]
