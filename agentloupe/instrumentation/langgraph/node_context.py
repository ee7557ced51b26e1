"""Make each LangGraph node's span the current OpenTelemetry context while the node runs.

LangChain callbacks start and end a node's span, but a callback cannot make the span
current for the node's code: ``on_chain_end`` runs in another ``contextvars.Context``
than ``on_chain_start``, so an attach there can never be detached and the last
node's span would leak into the caller. LangGraph and LangChain run every node and
tool inside a fresh copy of the context, prepared by ``_set_config_context(config)``
(that is where LangSmith's own run tree becomes current). Wrapping that function
puts the span of ``config["callbacks"].parent_run_id`` in the *copy* only: the
node's code (async or sync, each ``Send`` branch, subgraphs, tools) sees it, and
the caller's context is never touched, so nothing is left to detach.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any
from uuid import UUID

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span

from agentloupe.instrumentation.importhooks import when_imported

#: The modules whose ``set_config_context`` calls their module-global ``_set_config_context``.
_MODULES = ("langgraph._internal._runnable", "langchain_core.runnables.config")
_originals: dict[str, Callable[..., Any]] = {}
_span_for: Callable[[UUID], Span | None] | None = None


def _wrap(original: Callable[..., Any], span_for: Callable[[UUID], Span | None]) -> Callable[..., Any]:
    def _set_config_context(config: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(config, *args, **kwargs)
        try:
            callbacks = config.get("callbacks") if isinstance(config, dict) else None
            run_id = getattr(callbacks, "parent_run_id", None)
            span = span_for(run_id) if run_id is not None else None
            if span is not None:
                # Runs inside ``ctx.run`` on a throwaway copy: never detached, never leaks.
                otel_context.attach(trace.set_span_in_context(span))
        except Exception:
            pass
        return result

    _set_config_context.__wrapped__ = original  # type: ignore[attr-defined]
    return _set_config_context


def install(span_for: Callable[[UUID], Span | None]) -> None:
    """Wrap ``_set_config_context`` where LangGraph and LangChain define it, as soon as they are imported."""
    global _span_for
    first = _span_for is None
    _span_for = span_for
    if first:
        for name in _MODULES:
            when_imported(name, functools.partial(_patch, name))


def _patch(name: str) -> None:
    module = sys.modules.get(name)
    original = getattr(module, "_set_config_context", None)
    span_for = _span_for
    if module is None or original is None or name in _originals or span_for is None:
        return
    _originals[name] = original
    module._set_config_context = _wrap(original, span_for)  # type: ignore[attr-defined]


def uninstall() -> None:
    """Put the original functions back (a module not imported yet is left alone when it is)."""
    global _span_for
    _span_for = None
    for name, original in list(_originals.items()):
        module = sys.modules.get(name)
        if module is not None:
            module._set_config_context = original  # type: ignore[attr-defined]
        del _originals[name]
