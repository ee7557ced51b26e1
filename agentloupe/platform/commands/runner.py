"""``loupe run`` and ``loupe call``: one run of the bundled agent, one tool call, as the CLI (and tests) drive them."""

from __future__ import annotations

import threading
import uuid
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio
from opentelemetry import trace

from agentloupe.instrumentation import content, semconv
from agentloupe.instrumentation.diagnostics.exceeded import DeadlineExceeded
from agentloupe.instrumentation.diagnostics.memory import LeakTracker
from agentloupe.instrumentation.diagnostics.watchdog import deadline
from agentloupe.instrumentation.langgraph import genai
from agentloupe.instrumentation.spans import mark_error, traced
from agentloupe.platform.agent.output import truncate_output
from agentloupe.platform.commands.targets import parse_target
from agentloupe.platform.config import LOCAL_SERVER, Settings
from agentloupe.platform.errors import ToolCallError, ToolCallTimeout, ToolNotFoundError
from agentloupe.platform.runs import (
    LAZY_IMPORTS,
    RunResult,
    current_trace_id,
    note_missing,
    observed,
    shutdown_pool,
    timed_run,
    with_missing,
)
from agentloupe.platform.sessions import headstart
from agentloupe.platform.sessions.launcher import child_environment

AGENT_NAME = "agentloupe"


def import_the_agent() -> None:
    """The modules a run needs beyond the sessions (LangGraph, LangChain); safe on any thread."""
    import importlib

    modules: tuple[str, ...] = (
        "agentloupe.platform.agent.graph",
        "agentloupe.platform.agent.models",
        "agentloupe.platform.agent.tools",
    )
    from agentloupe.instrumentation.mcp import generation

    if (generation() or 1) >= 2:  # the MCP tools' converter (sessions/client.py)
        from agentloupe.platform.sessions.client import import_langchain_mcp

        with suppress(ImportError):
            import_langchain_mcp()
    else:
        modules = ("langchain_mcp_adapters.tools", *modules)
    for name in (*LAZY_IMPORTS, *modules):
        with suppress(ImportError):
            importlib.import_module(name)


@dataclass
class CallResult:
    text: str
    is_error: bool
    trace_id: str


async def run_agent(settings: Settings, question: str) -> RunResult:
    """Start the servers, run the graph on ``question`` (``settings.repeat`` times), shut down in order."""
    run_id = str(uuid.uuid4())
    if settings.memory:
        # tracemalloc would trace every allocation of a second of imports (a --memory run took
        # 3.6x a plain one that way, measured; 1.4x with the imports first): import, then trace.
        import_the_agent()
    async with observed(settings):
        # Its servers may have been launched before this module was imported (a head start).
        with traced(semconv.SPAN_RUN, attributes={semconv.RUN_ID: run_id}, start_time=headstart.began_ns()) as root:
            captured = content.render(question)
            if captured is not None:
                root.set_attribute(semconv.RUN_INPUT, captured)
            from agentloupe.platform.sessions import SessionPool

            pool = SessionPool(settings, child_environment(settings))
            tracker = LeakTracker() if settings.repeat > 1 else None
            # LangGraph and LangChain take about a second to import: done on a thread while the
            # servers boot (their own start is about as long), not before launching them.
            importing = threading.Thread(target=import_the_agent, name="agentloupe-import", daemon=True)
            importing.start()
            try:
                await pool.open()
                await anyio.to_thread.run_sync(importing.join)
                from agentloupe.platform.agent.graph import build_graph, chat
                from agentloupe.platform.agent.models import load_model
                from agentloupe.platform.agent.tools import local_tools

                model, info = load_model(settings.model)
                pool.answers.model = lambda: (partial(chat, model, info), info.name)  # a server asking it
                note_missing(root, pool.missing)
                tools = local_tools() + pool.tools()
                graph = build_graph(model, info, tools, pool.tool_servers())
                for iteration in range(settings.repeat):
                    answer = await invoke_once(graph, info.name, run_id, iteration, question, settings, tracker)
            finally:
                await shutdown_pool(pool)
            return RunResult(
                answer=with_missing(answer, pool.missing),
                trace_id=current_trace_id(),
                run_id=run_id,
                missing=pool.missing,
                declined=pool.answers.declined,
            )


async def invoke_once(
    graph: Any,
    model_name: str,
    run_id: str,
    iteration: int,
    question: str,
    settings: Settings,
    tracker: LeakTracker | None,
    *,
    run_timeout_s: float | None = None,
) -> str:
    attrs = {
        semconv.GEN_AI_OPERATION_NAME: semconv.OP_INVOKE_AGENT,
        semconv.GEN_AI_AGENT_NAME: AGENT_NAME,
        semconv.GEN_AI_CONVERSATION_ID: f"{run_id}/{iteration}" if settings.repeat > 1 else run_id,
        semconv.GEN_AI_REQUEST_MODEL: model_name,
        semconv.RUN_ITERATION: iteration,
    }
    with timed_run(AGENT_NAME), traced(f"invoke_agent {AGENT_NAME}", attributes=attrs) as span:
        with deadline("run", span=span, seconds=run_timeout_s):
            state = await graph.ainvoke(
                {"messages": [("user", question)]},
                config={"recursion_limit": settings.recursion_limit},
            )
        if tracker is not None:
            tracker.sample(span)
    answer = state["messages"][-1].content
    return answer if isinstance(answer, str) else str(answer)


async def call_tool(settings: Settings, target: str, arguments: dict[str, Any]) -> CallResult:
    """Call one tool of one configured server, traced like a run: the quickest way to debug a tool."""
    server, tool = parse_target(settings, target)
    async with observed(settings):
        if server == LOCAL_SERVER:
            return await _call_local(tool, arguments)
        return await _call_tool(settings, server, tool, arguments)


async def _call_local(name: str, arguments: dict[str, Any]) -> CallResult:
    """One of the agent's own tools, with the span it has in a run (``execute_tool {name}``)."""
    from agentloupe.platform.agent.tools import local_tools

    tool = next(t for t in local_tools() if t.name == name)
    with traced(semconv.SPAN_CALL, attributes={semconv.SERVER_NAME: LOCAL_SERVER, semconv.GEN_AI_TOOL_NAME: name}):
        with traced(f"execute_tool {name}", attributes=genai.tool_attributes(name, "loupe-call", "local")) as span:
            call = {"type": "tool_call", "name": name, "args": arguments, "id": "loupe-call"}
            try:
                message = await tool.ainvoke(call)
                text, failed = str(message.content), getattr(message, "status", "success") == "error"
            except Exception as exc:  # arguments the tool's schema refuses
                text, failed = str(exc), True
            text = truncate_output(text, span)
            if failed:
                mark_error(span, "tool_error", text[:500])
                mark_error(trace.get_current_span(), "tool_error", text[:500])
        return CallResult(text=text, is_error=failed, trace_id=current_trace_id())


async def _call_tool(settings: Settings, server: str, tool: str, arguments: dict[str, Any]) -> CallResult:
    attributes = {semconv.SERVER_NAME: server, semconv.GEN_AI_TOOL_NAME: tool}
    with traced(semconv.SPAN_CALL, attributes=attributes, start_time=headstart.began_ns()) as root:
        from agentloupe.platform.sessions import SessionPool
        from agentloupe.platform.sessions.client import SessionHandle
        from agentloupe.platform.sessions.mcpsdk import is_error, types

        pool = SessionPool(settings, child_environment(settings), only=[server], langchain_tools=False)
        pool.answers.model = lambda: _model_of(settings)  # loaded only if the server asks for it
        try:
            await pool.open()
            session = SessionHandle(pool.slots[server])  # the pool's path: deadlines, breaker, span attributes
            names = [t.name for t in (await session.list_tools()).tools]
            if tool not in names:
                raise ToolNotFoundError(
                    f"server {server!r} has no tool {tool!r}: it has {', '.join(sorted(names)) or 'no tools'}"
                )
            try:
                with deadline("run", span=root):
                    result = await session.call_tool(tool, arguments)
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as exc:  # a deadline that ended it exits 124, as for a run
                error = ToolCallTimeout if isinstance(exc, DeadlineExceeded) else ToolCallError
                raise error(f"calling {server}.{tool} failed: {exc}") from None
        finally:
            await shutdown_pool(pool)
        text = "\n".join(
            item.text if isinstance(item, types.TextContent) else item.model_dump_json() for item in result.content
        )
        text = truncate_output(text, root)
        failed = is_error(result)
        if failed:
            mark_error(root, "tool_error", text[:500])
        return CallResult(text=text, is_error=failed, trace_id=current_trace_id())


__all__ = ["CallResult", "RunResult", "call_tool", "run_agent"]


def _model_of(settings: Settings) -> tuple[Any, str]:
    from agentloupe.platform.agent.graph import chat
    from agentloupe.platform.agent.models import load_model

    model, info = load_model(settings.model)
    return partial(chat, model, info), info.name
