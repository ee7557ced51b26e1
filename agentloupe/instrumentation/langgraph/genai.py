"""GenAI attributes and metrics for model calls: one implementation for `loupe run` and for
``instrument_langgraph()``."""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import Span

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.telemetry import metrics


def chat_attributes(provider: str, model: str, **extra: Any) -> dict[str, Any]:
    return {
        semconv.GEN_AI_OPERATION_NAME: semconv.OP_CHAT,
        semconv.GEN_AI_PROVIDER_NAME: provider,
        semconv.GEN_AI_REQUEST_MODEL: model,
        **extra,
    }


def record_response(span: Span, message: Any, provider: str, model: str, meter_provider: Any = None) -> None:
    """Response model, finish reasons and token usage (span attributes and the token metric)."""
    metadata = getattr(message, "response_metadata", None) or {}
    span.set_attribute(semconv.GEN_AI_RESPONSE_MODEL, str(metadata.get("model_name") or metadata.get("model") or model))
    finish = metadata.get("finish_reason") or metadata.get("stop_reason")
    if finish:
        span.set_attribute(semconv.GEN_AI_RESPONSE_FINISH_REASONS, [str(finish)])
    usage = getattr(message, "usage_metadata", None)
    if usage:
        base = {semconv.GEN_AI_PROVIDER_NAME: provider, semconv.GEN_AI_REQUEST_MODEL: model}
        for key, kind, attribute in (
            ("input_tokens", "input", semconv.GEN_AI_USAGE_INPUT_TOKENS),
            ("output_tokens", "output", semconv.GEN_AI_USAGE_OUTPUT_TOKENS),
        ):
            count = int(usage.get(key, 0) or 0)
            span.set_attribute(attribute, count)
            metrics.gen_ai_token_usage(meter_provider).record(count, {**base, semconv.GEN_AI_TOKEN_TYPE: kind})


def record_duration(
    seconds: float, provider: str, model: str, error_type: str | None, meter_provider: Any = None
) -> None:
    attrs = {
        semconv.GEN_AI_OPERATION_NAME: semconv.OP_CHAT,
        semconv.GEN_AI_PROVIDER_NAME: provider,
        semconv.GEN_AI_REQUEST_MODEL: model,
    }
    if error_type:
        attrs[semconv.ERROR_TYPE] = error_type
    metrics.gen_ai_operation_duration(meter_provider).record(seconds, attrs)


def tool_attributes(name: str, call_id: str | None, source: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        semconv.GEN_AI_OPERATION_NAME: semconv.OP_EXECUTE_TOOL,
        semconv.GEN_AI_TOOL_NAME: name,
        semconv.TOOL_SOURCE: source,
    }
    if call_id:
        attrs[semconv.GEN_AI_TOOL_CALL_ID] = call_id
    return attrs
