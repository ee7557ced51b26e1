"""``loupe run --graph``: a developer's own graph, from the command's values to its run.

The CLI checks the flags; this reads the input, the context and the graph (one line for each
that is wrong), instruments LangGraph and the graph's own stdio servers, and hands the
lifecycle the run (``owngraph/run.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from agentloupe.platform.config import Settings
from agentloupe.platform.owngraph.loading import context_input, graph_input, load_graph_target
from agentloupe.platform.owngraph.run import NOT_RESUMING, run_graph
from agentloupe.platform.runs import RunResult, preload

__all__ = ["NOT_RESUMING", "prepare_graph_run"]


def prepare_graph_run(
    settings: Settings,
    ref: str,
    *,
    question: str | None,
    input_json: str | None,
    context_json: str | None,
    thread: str | None,
    resume: Any,
    output: str,
    stream: bool,
) -> Callable[[], Awaitable[RunResult]]:
    """The graph ``ref`` names, loaded, with its input and context read: the run, ready to start.

    ``resume`` is ``NOT_RESUMING`` for a new run; an ``AgentloupeError`` says what is wrong."""
    from agentloupe.instrumentation import instrument_langgraph
    from agentloupe.instrumentation.mcp.stdio_children import instrument_stdio_children

    state = None if resume is not NOT_RESUMING else graph_input(question, input_json)
    context = context_input(context_json)
    target = load_graph_target(ref)
    preload()  # LangChain's lazy imports, before the loop (the user's graph imported LangGraph already)
    instrument_langgraph()
    instrument_stdio_children()
    return lambda: run_graph(
        settings, ref, target, state, context=context, thread=thread, resume=resume, output=output, stream=stream
    )
