"""Trace context in a request's ``_meta``, on either generation and either side."""

from __future__ import annotations

from typing import Any

from opentelemetry import propagate
from opentelemetry.context import Context


def parent_context(meta: Any) -> Context:
    """The caller's context from ``_meta``; always extracted into an empty context.

    In stateful streamable HTTP every handler inherits the contextvars of the
    session's first HTTP request: an inherited context would parent wrongly.
    """
    carrier: dict[str, str] = {}
    if meta is not None:
        extra = meta.model_extra if hasattr(meta, "model_extra") else meta
        if isinstance(extra, dict):
            carrier = {k: v for k, v in extra.items() if isinstance(v, str)}
    return propagate.extract(carrier, context=Context())
