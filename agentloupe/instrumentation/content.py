"""Content capture (prompts, tool arguments, results): off unless asked, capped, redacted."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from agentloupe.instrumentation.telemetry.processenv import env_flag

CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
MAX_CHARS = 4096

_override: bool | None = None

_SECRET_PATTERNS = [
    # API keys of the common providers and bearer tokens
    (re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_\-]{8,}"), "[REDACTED:key]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}"), r"\1 [REDACTED]"),
    (
        re.compile(r"(?i)(authorization|api[_-]?key|x-api-key|password|secret|token)(\"?\s*[:=]\s*\"?)[^\s\"',}]+"),
        r"\1\2[REDACTED]",
    ),
    (re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"), "[REDACTED:email]"),
]


def set_capture(enabled: bool) -> None:
    """Capture on or off in this process (child processes are told by ``Telemetry.child_environment``)."""
    global _override
    _override = enabled


_env_seen: tuple[str | None, bool] = (None, False)


def capture_enabled() -> bool:
    """``--capture-content``, else ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (read per call: cheap)."""
    global _env_seen
    if _override is not None:
        return _override
    raw = os.environ.get(CAPTURE_ENV)
    if raw != _env_seen[0]:
        _env_seen = (raw, env_flag(CAPTURE_ENV) or False)
    return _env_seen[1]


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def render(value: Any) -> str | None:
    """The value as a capped, redacted string, or None when capture is off."""
    if not capture_enabled():
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    text = redact(text)
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS] + f"...[truncated {len(text) - MAX_CHARS} chars]"
    return text


def render_blocks(blocks: Any) -> str | None:
    """MCP content blocks (a tool's result) rendered like ``render``; dumped only when capture is on
    (the dump costs more than the span that would carry it)."""
    if not capture_enabled():
        return None
    return render([block.model_dump(mode="json") for block in blocks])
