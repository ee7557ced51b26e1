"""Reading the trace files back: every process's spans, linked into traces.

The files are what ``instrumentation.tracefiles`` writes: one OTLP/JSON
``ExportTraceServiceRequest`` per line, ``<service>-<pid>.jsonl``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.telemetry.tracefiles import FILE_NAME, traces_dir


@dataclass
class SpanRecord:
    """A span read back from a trace file, flattened for display and tests."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    start_ns: int
    end_ns: int
    service: str
    attributes: dict[str, Any]
    events: list[dict[str, Any]]
    status_code: str
    status_message: str
    children: list[SpanRecord] = field(default_factory=list, repr=False)
    links: list[dict[str, Any]] = field(default_factory=list)  # {"trace_id", "span_id", "attributes"}

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6 if not self.unfinished else 0.0

    @property
    def unfinished(self) -> bool:
        """Started, never ended: its process died (or is still running) before the span's end."""
        return self.end_ns == 0

    @property
    def is_error(self) -> bool:
        return self.status_code == "STATUS_CODE_ERROR"


def _any_value(value: dict[str, Any]) -> Any:
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return [_any_value(v) for v in value["arrayValue"].get("values", [])]
    return None


def _attributes(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {item["key"]: _any_value(item.get("value", {})) for item in items}


# OTLP/JSON writes enums as integers; protobuf's JSON mapping (older files) as names.
_KIND_NAMES = {
    "SPAN_KIND_INTERNAL": "INTERNAL",
    "SPAN_KIND_SERVER": "SERVER",
    "SPAN_KIND_CLIENT": "CLIENT",
    "SPAN_KIND_PRODUCER": "PRODUCER",
    "SPAN_KIND_CONSUMER": "CONSUMER",
    1: "INTERNAL",
    2: "SERVER",
    3: "CLIENT",
    4: "PRODUCER",
    5: "CONSUMER",
}
_STATUS_NAMES = {0: "STATUS_CODE_UNSET", 1: "STATUS_CODE_OK", 2: "STATUS_CODE_ERROR"}


def parse_request(line: str) -> Iterator[SpanRecord]:
    """Yield the spans of one OTLP/JSON ``ExportTraceServiceRequest`` line."""
    request = json.loads(line)
    for resource_spans in request.get("resourceSpans", []):
        resource = _attributes(resource_spans.get("resource", {}).get("attributes", []))
        service = str(resource.get("service.name", "?"))
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                status = span.get("status", {})
                yield SpanRecord(
                    trace_id=span["traceId"],
                    span_id=span["spanId"],
                    parent_span_id=span.get("parentSpanId", ""),
                    name=span.get("name", ""),
                    kind=_KIND_NAMES.get(span.get("kind", ""), "INTERNAL"),
                    start_ns=int(span.get("startTimeUnixNano", 0)),
                    end_ns=int(span.get("endTimeUnixNano", 0)),
                    service=service,
                    attributes=_attributes(a for a in span.get("attributes", []) if a.get("key") != semconv.SPAN_OPEN),
                    events=[
                        {
                            "name": event.get("name", ""),
                            "time_ns": int(event.get("timeUnixNano", 0)),
                            "attributes": _attributes(event.get("attributes", [])),
                        }
                        for event in span.get("events", [])
                    ],
                    status_code=_STATUS_NAMES.get(status.get("code"), status.get("code", "STATUS_CODE_UNSET")),
                    status_message=status.get("message", ""),
                    links=[
                        {
                            "trace_id": link.get("traceId", ""),
                            "span_id": link.get("spanId", ""),
                            "attributes": _attributes(link.get("attributes", [])),
                        }
                        for link in span.get("links", [])
                    ],
                )


def read_spans(directory: Path | None = None) -> list[SpanRecord]:
    """Every span in every trace file under ``directory`` (rotated ones too); bad lines are skipped.

    A span is written when it starts and again when it ends: the end record wins,
    and a span with only its start record (its process died) is kept, unfinished.
    """
    directory = directory or traces_dir()
    spans: dict[tuple[str, str], SpanRecord] = {}
    if not directory.is_dir():
        return []
    for path in sorted(directory.glob("*.jsonl")):
        if not FILE_NAME.match(path.name):
            continue
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                line = line.strip().strip("\0")  # (a process that died leaves NUL bytes after its last record)
                if not line:
                    continue
                try:
                    records = list(parse_request(line))
                except (ValueError, KeyError, TypeError):
                    continue
                for record in records:
                    key = (record.trace_id, record.span_id)
                    if record.unfinished and key in spans:
                        continue
                    spans[key] = record
    return list(spans.values())


def build_trees(spans: Iterable[SpanRecord]) -> list[SpanRecord]:
    """Link spans to their parents; return the roots sorted by start time."""
    by_id = {(s.trace_id, s.span_id): s for s in spans}
    roots: list[SpanRecord] = []
    for span in by_id.values():
        span.children = []
    for span in by_id.values():
        parent = by_id.get((span.trace_id, span.parent_span_id))
        if parent is not None and parent is not span:
            parent.children.append(span)
        else:
            roots.append(span)
    for span in by_id.values():
        span.children.sort(key=lambda s: s.start_ns)
    roots.sort(key=lambda s: s.start_ns)
    return roots


def latest_trace_id(spans: Sequence[SpanRecord]) -> str | None:
    """The trace whose root span ended last, whatever made it (``loupe run``, a user's program)."""
    roots = [s for s in spans if not s.parent_span_id]
    pool = roots or list(spans)
    if not pool:
        return None
    return max(pool, key=lambda s: s.end_ns).trace_id


@dataclass
class TraceSummary:
    """One line of ``loupe trace --list``."""

    trace_id: str
    root: str
    start_ns: int
    end_ns: int
    services: list[str]
    spans: int
    errors: int

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


def trace_summaries(spans: Iterable[SpanRecord]) -> list[TraceSummary]:
    """Every trace in ``spans``, the one that ended last first."""
    by_trace: dict[str, list[SpanRecord]] = {}
    for span in spans:
        by_trace.setdefault(span.trace_id, []).append(span)
    summaries = []
    for trace_id, members in by_trace.items():
        roots = [s for s in members if not s.parent_span_id] or members
        root = min(roots, key=lambda s: s.start_ns)
        summaries.append(
            TraceSummary(
                trace_id=trace_id,
                root=root.name,
                start_ns=min(s.start_ns for s in members),
                end_ns=max(s.end_ns for s in members),
                services=sorted({s.service for s in members}),
                spans=len(members),
                errors=sum(1 for s in members if s.is_error),
            )
        )
    summaries.sort(key=lambda t: t.end_ns, reverse=True)
    return summaries
