"""``instrument_langgraph()``: spans for any LangGraph (or LangChain) app, through callbacks.

A callback handler registered with LangChain's configure hook joins every run
that is started after ``instrument_langgraph()``: the graph run becomes
``invoke_agent {graph}``, each node a span, each chat model call ``chat
{model}`` (with tokens) and each tool ``execute_tool {tool}``. Parents come
from LangChain's ``parent_run_id``, so async nodes, parallel branches,
subgraphs and streamed runs nest as they ran. A LangGraph interrupt is not an
error: the span records ``langgraph.interrupted`` and the run keeps its
``gen_ai.conversation.id`` (the thread id), so the resumed run is recognisable.
While a node or a tool runs, its span is the current OpenTelemetry context
(``node_context``): spans made in the node's own code (an MCP ``ClientSession``
call, an instrumented httpx request, ``tracer.start_as_current_span``) nest under
it, and the caller's context is never changed.
"""

from __future__ import annotations

import threading
import time
from contextlib import suppress
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.diagnostics import waits
from agentloupe.instrumentation.diagnostics.watchdog import active as active_watchdog
from agentloupe.instrumentation.langgraph import genai, node_context
from agentloupe.instrumentation.spans import (
    error_type_of,
    get_tracer,
    mark_error,
    record_exception,
    span_ending,
    span_started,
)

_HIDDEN_TAG = "langsmith:hidden"
_INTERRUPTS = ("GraphInterrupt", "NodeInterrupt", "Interrupt", "GraphBubbleUp", "ParentCommand")


class _Run:
    __slots__ = ("deadline", "model", "parent", "provider", "span", "started")

    def __init__(self, span: Span | None, provider: str = "", model: str = "", parent: UUID | None = None) -> None:
        self.span, self.started = span, time.perf_counter()
        self.provider, self.model, self.parent = provider, model, parent
        self.deadline: tuple[Any, object] | None = None  # (watchdog, handle)


def _open_deadline(run: _Run, kind: str) -> None:
    """Under a watchdog (``loupe exec``, ``watch()``, ``loupe run --graph``): bound a graph run
    (``run``, unless the caller already bounds it) or a node (``node``, when one is set)."""
    watchdog = active_watchdog()
    if watchdog is None or (kind == "run" and watchdog.watching_kind("run")):
        return
    with suppress(Exception):
        handle = watchdog.open_deadline(kind, span=run.span)
        run.deadline = (watchdog, handle) if handle is not None else None


class AgentloupeCallbackHandler(BaseCallbackHandler):
    """Turns LangChain/LangGraph callbacks into OpenTelemetry spans."""

    run_inline = True  # the span exists before LangGraph copies the context for the node
    raise_error = False  # telemetry never breaks the agent

    def __init__(self, *, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        super().__init__()
        self.tracer_provider, self.meter_provider = tracer_provider, meter_provider
        self._runs: dict[UUID, _Run] = {}
        self._lock = threading.Lock()
        self.enabled = True

    # -- bookkeeping ----------------------------------------------------------

    def _parent_span(self, parent_run_id: UUID | None) -> Span | None:
        while parent_run_id is not None:
            run = self._runs.get(parent_run_id)
            if run is None:
                return None
            if run.span is not None:
                return run.span
            parent_run_id = run.parent
        return None

    def _root_span(self, run_id: UUID | None) -> Span | None:
        root = None
        while run_id is not None and (run := self._runs.get(run_id)) is not None:
            root = run.span or root
            run_id = run.parent
        return root

    def span_of_config(self, config: dict[str, Any]) -> Span | None:
        """The span of the node a LangGraph ``config`` was made for (its callbacks' parent run)."""
        run_id = getattr(config.get("callbacks"), "parent_run_id", None)
        return self.span_of(run_id) if run_id is not None else None

    def span_of(self, run_id: UUID) -> Span | None:
        """The span of ``run_id``, or of its nearest traced ancestor (hidden runs have none)."""
        return self._parent_span(run_id) if self.enabled else None

    def _start(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        name: str,
        kind: SpanKind,
        attributes: dict[str, Any],
        **extra: Any,
    ) -> _Run:
        parent = self._parent_span(parent_run_id)
        context = trace.set_span_in_context(parent) if parent is not None else None
        span = get_tracer(self.tracer_provider).start_span(name, context=context, kind=kind, attributes=attributes)
        span_started(span)
        run = _Run(span, parent=parent_run_id, **extra)
        with self._lock:
            self._runs[run_id] = run
        return run

    def _skip(self, run_id: UUID, parent_run_id: UUID | None) -> None:
        """A hidden run: no span, but its children attach to its parent."""
        run = _Run(None, parent=parent_run_id)
        with self._lock:
            self._runs[run_id] = run

    def _end(self, run_id: UUID, error: BaseException | None = None) -> _Run | None:
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is not None and run.deadline is not None:
            watchdog, handle = run.deadline  # closed on the watchdog that opened it
            watchdog.close_deadline(handle)
        if run is None or run.span is None:
            return run
        span = run.span
        if error is not None:
            if type(error).__name__ in _INTERRUPTS:
                span.set_attribute(semconv.LANGGRAPH_INTERRUPTED, True)
                span.add_event("interrupt", {"type": type(error).__name__})
                root = self._root_span(run.parent)
                if root is not None and root.is_recording():
                    root.set_attribute(semconv.LANGGRAPH_INTERRUPTED, True)
            elif isinstance(error, (KeyboardInterrupt,)) or type(error).__name__ == "CancelledError":
                span.set_attribute(semconv.CANCELLED, True)
            else:
                record_exception(span, error)
                mark_error(
                    span,
                    error_type_of(error),
                    str(error)[:500] or None,
                )
        span_ending(span)
        span.end()
        return run

    # -- chains (graphs, nodes, subgraphs) --------------------------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self.enabled:
            return
        metadata = metadata or {}
        name = kwargs.get("name") or (serialized or {}).get("name") or "chain"
        node = metadata.get("langgraph_node")
        if parent_run_id is None or self._parent_span(parent_run_id) is None:
            conversation = metadata.get("thread_id") or str(run_id)
            attrs = {
                semconv.GEN_AI_OPERATION_NAME: semconv.OP_INVOKE_AGENT,
                semconv.GEN_AI_AGENT_NAME: name,
                semconv.GEN_AI_CONVERSATION_ID: str(conversation),
            }
            if type(inputs).__name__ == "Command":
                attrs[semconv.LANGGRAPH_RESUMED] = True  # the same conversation id as the interrupted run
            _open_deadline(self._start(run_id, parent_run_id, f"invoke_agent {name}", SpanKind.INTERNAL, attrs), "run")
        elif tags and _HIDDEN_TAG in tags:
            self._skip(run_id, parent_run_id)
        elif node is not None and name == node:
            attrs = {semconv.LANGGRAPH_NODE: node, semconv.LANGGRAPH_STEP: int(metadata.get("langgraph_step", -1))}
            _open_deadline(self._start(run_id, parent_run_id, str(node), SpanKind.INTERNAL, attrs), "node")
        else:
            self._start(run_id, parent_run_id, str(name), SpanKind.INTERNAL, {semconv.LANGCHAIN_RUN_TYPE: "chain"})

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._runs.get(run_id)
        if run is not None and run.span is not None and isinstance(outputs, dict) and "__interrupt__" in outputs:
            run.span.set_attribute(semconv.LANGGRAPH_INTERRUPTED, True)
        self._end(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error)

    # -- chat models ------------------------------------------------------------

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        invocation_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self.enabled:
            return
        metadata, params = metadata or {}, invocation_params or kwargs.get("invocation_params") or {}
        model = str(
            params.get("model")
            or params.get("model_name")
            or metadata.get("ls_model_name")
            or (serialized or {}).get("name")
            or "unknown"
        )
        provider = str(metadata.get("ls_provider") or params.get("_type") or "unknown")
        self._start(
            run_id,
            parent_run_id,
            f"chat {model}",
            SpanKind.CLIENT,
            genai.chat_attributes(provider, model),
            provider=provider,
            model=model,
        )

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._runs.get(run_id)
        if run is not None and run.span is not None:
            generations = getattr(response, "generations", None) or [[]]
            message = getattr(generations[0][0], "message", None) if generations and generations[0] else None
            if message is not None:
                genai.record_response(run.span, message, run.provider, run.model, self.meter_provider)
            genai.record_duration(time.perf_counter() - run.started, run.provider, run.model, None, self.meter_provider)
        self._end(run_id)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._runs.get(run_id)
        if run is not None and run.span is not None:
            genai.record_duration(
                time.perf_counter() - run.started,
                run.provider,
                run.model,
                type(error).__qualname__,
                self.meter_provider,
            )
        self._end(run_id, error)

    # -- tools --------------------------------------------------------------------

    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        if not self.enabled:
            return
        name = kwargs.get("name") or (serialized or {}).get("name") or "tool"
        self._start(
            run_id,
            parent_run_id,
            f"execute_tool {name}",
            SpanKind.INTERNAL,
            genai.tool_attributes(str(name), kwargs.get("tool_call_id"), "langchain"),
        )

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._runs.get(run_id)
        if run is not None and run.span is not None and getattr(output, "status", None) == "error":
            mark_error(run.span, "tool_error", str(getattr(output, "content", ""))[:500])
        self._end(run_id)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error)


_handler: ContextVar[AgentloupeCallbackHandler | None] | None = None
_hook: tuple[Any, ...] | None = None


def instrument_langgraph(*, tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Trace every LangGraph/LangChain run started from now on. Idempotent; nothing is patched at import.

    >>> import agentloupe
    >>> agentloupe.instrument_langgraph()  # doctest: +SKIP
    """
    global _handler, _hook
    if _hook is not None:
        return
    from langchain_core.tracers import context as tracer_context

    handler = AgentloupeCallbackHandler(tracer_provider=tracer_provider, meter_provider=meter_provider)
    _handler = ContextVar("agentloupe_langgraph_handler", default=handler)
    tracer_context.register_configure_hook(_handler, inheritable=True)
    _hook = tracer_context._configure_hooks[-1]
    node_context.install(handler.span_of)
    waits.node_span = handler.span_of_config


def uninstrument_langgraph() -> None:
    """Undo ``instrument_langgraph()``: runs started afterwards are not traced."""
    global _handler, _hook
    if _hook is None:
        return
    from langchain_core.tracers import context as tracer_context

    node_context.uninstall()
    waits.node_span = None
    if _hook in tracer_context._configure_hooks:
        tracer_context._configure_hooks.remove(_hook)
    handler = _handler.get() if _handler is not None else None
    if handler is not None:
        handler.enabled = False  # runs still holding it stop producing spans
    _handler, _hook = None, None
