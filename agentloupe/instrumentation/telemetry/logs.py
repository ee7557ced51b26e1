"""structlog setup: key-value events with the current trace and span ids, on stderr."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

if TYPE_CHECKING:  # structlog itself is imported when logging is set up (lazylog.py says why)
    from structlog.typing import EventDict


def add_trace_context(logger: Any, method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: ``trace_id`` and ``span_id`` of the current span, else of the span the
    process runs under (``loupe exec``'s), if any."""
    context: Any = trace.get_current_span().get_span_context()
    if not context.is_valid:
        from agentloupe.instrumentation.telemetry.parent import process_parent

        context = process_parent()
    if context is not None and context.is_valid:
        event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict


_SEVERITY = {"debug": 5, "info": 9, "warning": 13, "warn": 13, "error": 17, "critical": 21, "exception": 17}
_otel_logger: Any = None


def set_otel_logger(logger: Any) -> None:
    """Where structlog events go as OTLP logs (None: nowhere). Set by telemetry ``configure()``."""
    global _otel_logger
    _otel_logger = logger


def _attribute(value: Any) -> Any:
    return value if isinstance(value, (str, bool, int, float)) else str(value)


def redact_secrets(logger: Any, method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: API keys, tokens and e-mail addresses never reach a log line."""
    from agentloupe.instrumentation.content import redact

    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = redact(value)
    return event_dict


def forward_to_otel(logger: Any, method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: also emit the event as an OTel log record, in the current span's context.

    Only structlog events take this path: the OTel SDK's own (stdlib) loggers never
    feed the OTel log pipeline, which is the known recursion and deadlock.
    """
    target = _otel_logger
    if target is not None:
        try:
            level = str(event_dict.get("level", method)).lower()
            target.emit(
                timestamp=time.time_ns(),
                body=str(event_dict.get("event", "")),
                severity_text=level.upper(),
                severity_number=_severity(level),
                attributes={
                    k: _attribute(v) for k, v in event_dict.items() if k not in ("event", "timestamp") and v is not None
                },
            )
        except Exception:
            pass
    return event_dict


def emit_record(body: str, level: str, attributes: dict[str, Any]) -> None:
    """One OpenTelemetry log record in the current span's context (a server's MCP log message);
    nowhere when logs are not exported. Never raises."""
    target = _otel_logger
    if target is None:
        return
    try:
        level = _MCP_LEVELS.get(level.lower(), level.lower())
        target.emit(
            timestamp=time.time_ns(),
            body=body,
            severity_text=level.upper(),
            severity_number=_severity(level),
            attributes={k: _attribute(v) for k, v in attributes.items() if v is not None},
        )
    except Exception:
        pass


#: MCP's log levels (syslog's) on the ones ``_SEVERITY`` knows
_MCP_LEVELS = {"notice": "info", "alert": "critical", "emergency": "critical"}


def _severity(level: str) -> Any:
    from opentelemetry._logs import SeverityNumber

    return SeverityNumber(_SEVERITY.get(level, 9))


_SIGNAL_OF_LOGGER = (("metric_exporter", "metrics"), ("_log_exporter", "logs"), ("trace_exporter", "traces"))
_UNSUPPORTED = re.compile(r"code: (404|405)\b|StatusCode\.UNIMPLEMENTED")
_EXPORTING = re.compile(r"export", re.IGNORECASE)  # the batch processors' "Exception while exporting"


def _signal(record: logging.LogRecord, message: str) -> str:
    for part, signal in _SIGNAL_OF_LOGGER:
        if part in record.name:
            return signal
    # "exporting traces", "Failed to export traces", "export span batch": each names its signal
    found = re.search(r"export(?:ing)? (traces|metrics|logs|span)", message)
    if found:
        word = found.group(1)
        return {"span": "traces"}.get(word, word)
    return "telemetry"


class ExportFailureOnce(logging.Filter):
    """The OpenTelemetry exporters log every failed batch: with the collector down that is a
    flood. The first failure of each signal becomes one clear line naming the signal; the rest
    are not printed. A signal the endpoint does not take at all (a traces-only backend such as
    Jaeger or Phoenix answers 404 to metrics) is switched off, with one line saying so."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("opentelemetry."):
            return True
        if record.levelno < logging.WARNING:
            return False
        original = record.getMessage()
        if not record.name.startswith("opentelemetry.exporter") and not _EXPORTING.search(original):
            return True  # another of OpenTelemetry's warnings ("Failed to detach context"): as it is
        signal = _signal(record, original)
        if signal in self._seen:
            return False
        self._seen.add(signal)
        unsupported = _UNSUPPORTED.search(original)
        if unsupported and signal in ("metrics", "logs"):
            from agentloupe.instrumentation.telemetry.otlp import switch_off

            switch_off(signal)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = (
                "the OTLP endpoint does not take %s (%s): %s are no longer exported from this process "
                "(OTEL_%s_EXPORTER=none skips them from the start); traces are not affected"
            )
            record.args = (signal, unsupported.group(0), signal, signal.upper())
            return True
        what = (
            "spans that cannot be sent are counted and reported at exit"
            if signal == "traces"
            else f"{signal} that cannot be sent are lost"
        )
        record.msg = (
            "telemetry export of %s is failing (%s); the agent runs on, %s. Is the collector running at "
            "OTEL_EXPORTER_OTLP_ENDPOINT / --otlp? (further %s export errors are not printed)"
        )
        record.args = (signal, original[:300], what, signal)
        return True


def json_format(default: bool | None) -> bool | None:
    """JSON lines or readable ones: ``AGENTLOUPE_LOG_FORMAT`` (``json``, ``console``) when set, else
    ``default``."""
    chosen = os.environ.get("AGENTLOUPE_LOG_FORMAT", "").strip().lower()
    return True if chosen == "json" else False if chosen == "console" else default


def configure_structlog(*, level: str = "WARNING", json: bool | None = None, stream: Any = None) -> None:
    """Send structlog events to ``stream`` (stderr): console style on a TTY, JSON lines otherwise.

    Stdout is left alone: a stdio MCP server speaks its protocol there.
    """
    import structlog

    stream = stream or sys.stderr
    if json is None:
        json = not stream.isatty()
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            add_trace_context,
            structlog.processors.format_exc_info,
            redact_secrets,
            forward_to_otel,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_numeric(level)),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )


def configure_stdlib_logging(*, level: str = "WARNING", stream: Any = None) -> None:
    """Libraries' stdlib loggers (mcp, httpx, uvicorn, the OTLP exporters) go to stderr at ``level``,
    export failures once per signal."""
    root = logging.getLogger()
    if not any(getattr(h, "_agentloupe", False) for h in root.handlers):
        handler = logging.StreamHandler(stream or sys.stderr)
        handler._agentloupe = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler.addFilter(ExportFailureOnce())
        root.addHandler(handler)
    root.setLevel(max(_numeric(level), logging.WARNING))


def _numeric(level: str) -> int:
    return logging.getLevelNamesMapping().get(level.upper(), logging.WARNING)
