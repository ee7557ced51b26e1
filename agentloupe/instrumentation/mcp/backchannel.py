"""What both generations' other direction share: progress and log messages as span events, a log
message as an OpenTelemetry log record in its span's context."""

from __future__ import annotations

from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.telemetry import logs


def progress_event(progress: float, total: float | None, message: str | None) -> dict[str, Any]:
    event: dict[str, Any] = {semconv.MCP_PROGRESS: float(progress)}
    if total is not None:
        event[semconv.MCP_PROGRESS_TOTAL] = float(total)
    if message:
        event[semconv.MCP_PROGRESS_MESSAGE] = str(message)[:300]
    return event


def log_event(level: Any, data: Any, logger: str | None) -> dict[str, Any]:
    event: dict[str, Any] = {semconv.MCP_LOG_LEVEL: str(level), semconv.MCP_LOG_DATA: str(data)[:1000]}
    if logger:
        event[semconv.MCP_LOG_LOGGER] = logger
    return event


def record_log(span: Span, event: dict[str, Any]) -> None:
    """A server's log message: an event on ``span`` and an OpenTelemetry log record in its context."""
    span.add_event(semconv.EVENT_MCP_LOG, event)
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        logs.emit_record(event[semconv.MCP_LOG_DATA], event[semconv.MCP_LOG_LEVEL], event)
    finally:
        otel_context.detach(token)
