"""A developer's own graph, run as LangGraph runs it: runtime context, threads, interrupts, streaming.

The graph's own spans (``invoke_agent {graph}``, a span per node, model and tool calls) come
from ``instrument_langgraph()``; this adds the run's root span, the watchdog and memory checks,
and MCP servers of the config, started only if the graph's factory asks for ``tools``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import TYPE_CHECKING, Any

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.diagnostics.memory import LeakTracker
from agentloupe.instrumentation.diagnostics.watchdog import active as active_watchdog
from agentloupe.instrumentation.diagnostics.watchdog import deadline
from agentloupe.instrumentation.spans import traced
from agentloupe.platform.config import Settings
from agentloupe.platform.owngraph.loading import answer_of, build_user_graph, coerce_context
from agentloupe.platform.owngraph.threads import interrupts_of, link_to_interrupted, remember_interrupted
from agentloupe.platform.runs import (
    AbandonStuckThreads,
    RunResult,
    current_trace_id,
    note_missing,
    observed,
    shutdown_pool,
    timed_run,
    with_missing,
)
from agentloupe.platform.sessions.launcher import child_environment

if TYPE_CHECKING:
    from agentloupe.platform.sessions import SessionPool

#: ``resume`` when the run does not continue an interrupted one.
NOT_RESUMING: Any = object()


async def run_graph(
    settings: Settings,
    ref: str,
    target: Any,
    state: dict[str, Any] | None,
    *,
    context: dict[str, Any] | None = None,
    thread: str | None = None,
    resume: Any = NOT_RESUMING,
    output: str = "text",
    stream: bool = False,
) -> RunResult:
    """Run ``target`` (what ``loading.load_graph_target(ref)`` found) on ``state``, or continue
    ``thread`` with ``Command(resume=resume)``; the answer as text or the final state as JSON."""
    run_id = str(uuid.uuid4())
    thread_id = thread or run_id
    resuming = resume is not NOT_RESUMING
    # A sync node runs in the loop's default executor; one stuck there past a deadline must not
    # keep the loop's shutdown (and the command) waiting for its thread.
    asyncio.get_running_loop().set_default_executor(AbandonStuckThreads(thread_name_prefix="langgraph-sync"))
    attributes = {semconv.RUN_ID: run_id, semconv.GRAPH_REFERENCE: ref}
    links = link_to_interrupted(thread_id) if resuming else []
    async with observed(settings):
        with traced(semconv.SPAN_RUN, attributes=attributes, links=links) as root:
            pool: SessionPool | None = None

            async def mcp_tools() -> list[Any]:
                nonlocal pool
                from agentloupe.platform.sessions import SessionPool  # the MCP SDK only when asked for

                pool = SessionPool(settings, child_environment(settings))
                await pool.open()
                note_missing(root, pool.missing)
                return pool.tools()

            tracker = LeakTracker() if settings.repeat > 1 else None
            config: dict[str, Any] = {"recursion_limit": settings.recursion_limit}
            try:
                # as LangGraph's server calls a factory: the run's config (its thread) and its context
                factory_config = {**config, "configurable": {"thread_id": thread_id}, "context": context or {}}
                graph = await build_user_graph(target, ref, tools=mcp_tools, config=factory_config)
                runtime_context = coerce_context(graph, context or {})
                if resuming:
                    from langgraph.types import Command

                    given: Any = Command(resume=resume)
                    root.set_attribute(semconv.LANGGRAPH_RESUMED, True)
                else:
                    given = state
                name = str(getattr(graph, "name", None) or "graph")
                for iteration in range(settings.repeat):
                    this_thread = f"{thread_id}/{iteration}" if settings.repeat > 1 else thread_id
                    run_config = {**config, "configurable": {"thread_id": this_thread}}
                    with timed_run(name), deadline("run", span=root):
                        final = await _invoke(graph, given, run_config, runtime_context, stream=stream)
                    if tracker is not None:
                        tracker.sample(root)
            finally:
                if pool is not None:
                    await shutdown_pool(pool)
            interrupts = interrupts_of(final)
            if interrupts:
                root.set_attribute(semconv.LANGGRAPH_INTERRUPTED, True)
                remember_interrupted(thread_id)
            missing = pool.missing if pool is not None else {}
            # a run that stopped: the state so far (the interrupt is said on stderr, with how to go on)
            shown = {k: v for k, v in final.items() if k != "__interrupt__"} if isinstance(final, dict) else final
            answer = _json(final) if output == "json" else answer_of(shown)
            return RunResult(
                answer=with_missing(answer, missing),
                trace_id=current_trace_id(),
                run_id=run_id,
                missing=missing,
                thread_id=thread_id if getattr(graph, "checkpointer", None) else None,
                interrupts=interrupts,
                streamed=stream and output != "json",
            )


async def _invoke(graph: Any, given: Any, config: dict[str, Any], context: Any, *, stream: bool) -> Any:
    try:
        if not stream:
            return await graph.ainvoke(given, config=config, context=context)
        return await _streamed(graph, given, config, context)
    except asyncio.CancelledError:
        watchdog = active_watchdog()  # a node deadline cancelled the run
        exceeded = watchdog.take_cancellation() if watchdog is not None else None
        if exceeded is None:
            raise
        raise exceeded from None


async def _streamed(graph: Any, given: Any, config: dict[str, Any], context: Any) -> Any:
    """The model's tokens on stdout as they come; the final state, with any interrupt, returned."""
    final: Any = None
    interrupted: Any = None
    async for mode, chunk in graph.astream(
        given, config=config, context=context, stream_mode=["messages", "values", "updates"]
    ):
        if mode == "messages":
            message = chunk[0]
            text = getattr(message, "content", None)
            if isinstance(text, str) and text and type(message).__name__.startswith("AIMessage"):
                sys.stdout.write(text)
                sys.stdout.flush()
        elif mode == "values":
            final = chunk
        elif mode == "updates" and isinstance(chunk, dict) and "__interrupt__" in chunk:
            interrupted = chunk["__interrupt__"]
    sys.stdout.write("\n")
    if interrupted is not None and isinstance(final, dict):
        final = {**final, "__interrupt__": interrupted}
    return final


def _json(state: Any) -> str:
    """The final state as JSON for scripts (messages as their dicts, anything else as text)."""

    def plain(value: Any) -> Any:
        if hasattr(value, "model_dump"):
            return value.model_dump()
        if hasattr(value, "value") and type(value).__name__ == "Interrupt":
            return {"value": value.value, "id": getattr(value, "id", None)}
        return str(value)

    return json.dumps(state, default=plain, indent=2)
