"""The embedded default: every span on disk as it ends, as OTLP/JSON lines (``view.traces`` reads them).

Every process writes ``$AGENTLOUPE_HOME/traces/<service>-<pid>.jsonl``: one
``ExportTraceServiceRequest`` per line in the OTLP/JSON encoding (hex ids,
enums as integers, 64-bit integers as strings).

Crash-safe: a span is handed to the operating system (one ``write``) when it
ends, on the thread that ends it, so a process killed by SIGKILL, ``os._exit``
or a segfault keeps every span that finished before. A span is also written
when it starts, marked open (``endTimeUnixNano`` 0, ``agentloupe.span.open``):
one that never ends (its process died first) is shown as unfinished, not lost.

Bounded: a file past ``max_bytes`` is rotated (``<service>-<pid>.1.jsonl``, ...;
``keep_rotated`` of them); ``prune_trace_files()`` keeps the files of the
newest traces and never touches a file whose process still runs.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.telemetry.processenv import agentloupe_home

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
DEFAULT_KEEP_ROTATED = 3
DEFAULT_KEEP_TRACES = 200
#: ``<service>-<pid>.jsonl`` or, rotated, ``<service>-<pid>.<n>.jsonl``.
FILE_NAME = re.compile(r"^(?P<service>.+)-(?P<pid>\d+)(?:\.(?P<rotation>\d+))?\.jsonl$")

#: Bound at import: a span can end while the interpreter is torn down (a task finalised after a
#: Ctrl-C), when the ``open`` builtin is already gone; its end record is still written.
_open = open
_KINDS = {SpanKind.INTERNAL: 1, SpanKind.SERVER: 2, SpanKind.CLIENT: 3, SpanKind.PRODUCER: 4, SpanKind.CONSUMER: 5}
_STATUS = {StatusCode.UNSET: 0, StatusCode.OK: 1, StatusCode.ERROR: 2}
_OPEN = [{"key": semconv.SPAN_OPEN, "value": {"boolValue": True}}]


def traces_dir(home: Path | None = None) -> Path:
    return (home or agentloupe_home()) / "traces"


# -- encoding -------------------------------------------------------------------


def _any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [_any_value(v) for v in value]}}
    return {"stringValue": str(value)}


def _key_values(attributes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [{"key": key, "value": _any_value(value)} for key, value in (attributes or {}).items()]


_envelopes: dict[tuple[int, str, str | None], tuple[str, str]] = {}


def _envelope(span: ReadableSpan) -> tuple[str, str]:
    """The request around one span (resource, scope), as text, cached per resource and scope."""
    scope = span.instrumentation_scope
    key = (id(span.resource), scope.name if scope else "", scope.version if scope else None)
    cached = _envelopes.get(key)
    if cached is None:
        resource = json.dumps({"attributes": _key_values(span.resource.attributes)}, separators=(",", ":"))
        scope_json = json.dumps(
            {"name": scope.name if scope else "", **({"version": scope.version} if scope and scope.version else {})},
            separators=(",", ":"),
        )
        cached = (
            f'{{"resourceSpans":[{{"resource":{resource},"scopeSpans":[{{"scope":{scope_json},"spans":[',
            "]}]}]}",
        )
        _envelopes[key] = cached
    return cached


def encode_span(span: ReadableSpan, *, open_: bool = False) -> str:
    """One span as one OTLP/JSON ``ExportTraceServiceRequest`` (one line)."""
    context = span.get_span_context()
    assert context is not None
    body: dict[str, Any] = {
        "traceId": format(context.trace_id, "032x"),
        "spanId": format(context.span_id, "016x"),
        "name": span.name,
        "kind": _KINDS.get(span.kind, 1),
        "startTimeUnixNano": str(span.start_time or 0),
        "endTimeUnixNano": "0" if open_ else str(span.end_time or 0),
    }
    if span.parent is not None:
        body["parentSpanId"] = format(span.parent.span_id, "016x")
    attributes = _key_values(span.attributes)
    if open_:
        attributes += _OPEN
    if attributes:
        body["attributes"] = attributes
    if span.events and not open_:
        body["events"] = [
            {
                "timeUnixNano": str(e.timestamp),
                "name": e.name,
                **({"attributes": _key_values(e.attributes)} if e.attributes else {}),
            }
            for e in span.events
        ]
    if span.links:
        body["links"] = [
            {
                "traceId": format(link.context.trace_id, "032x"),
                "spanId": format(link.context.span_id, "016x"),
                **({"attributes": _key_values(link.attributes)} if link.attributes else {}),
            }
            for link in span.links
        ]
    status = span.status
    if status.status_code is not StatusCode.UNSET and not open_:
        body["status"] = {
            "code": _STATUS[status.status_code],
            **({"message": status.description} if status.description else {}),
        }
    head, tail = _envelope(span)
    return head + json.dumps(body, separators=(",", ":")) + tail


# -- writing --------------------------------------------------------------------


class TraceFile:
    """One process's trace file: a line per write, handed to the OS at once, rotated by size."""

    def __init__(
        self, path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, keep_rotated: int = DEFAULT_KEEP_ROTATED
    ) -> None:
        self.path, self.max_bytes, self.keep_rotated = path, max_bytes, keep_rotated
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        self._size = 0
        self.failed = 0

    def _rotated(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.stem}.{n}.jsonl")

    def write(self, line: str) -> None:
        with self._lock:
            try:
                if self._file is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._file = _open(self.path, "a", encoding="utf-8")  # open until close()
                    self._size = self._file.tell()
                self._file.write(line + "\n")
                self._file.flush()
                self._size += len(line) + 1
                if self._size > self.max_bytes:
                    self._rotate()
            except Exception:  # a full disk (or a span ended as the interpreter is torn down):
                self.failed += 1  # the agent goes on; the count says what was lost

    def _rotate(self) -> None:
        assert self._file is not None
        self._file.close()
        self._file = None
        self._rotated(self.keep_rotated).unlink(missing_ok=True)
        for n in range(self.keep_rotated - 1, 0, -1):
            if self._rotated(n).exists():
                self._rotated(n).rename(self._rotated(n + 1))
        if self.keep_rotated > 0:
            self.path.rename(self._rotated(1))
        else:
            self.path.unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class FileSpanProcessor(SpanProcessor):
    """Writes each span to its trace file as it starts (open) and as it ends. No queue to lose."""

    def __init__(self, trace_file: TraceFile) -> None:
        self.trace_file = trace_file

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if span.context.trace_flags.sampled:
            self._write(span, open_=True)

    def on_end(self, span: ReadableSpan) -> None:
        context = span.get_span_context()
        if context is not None and context.trace_flags.sampled:
            self._write(span, open_=False)

    def _write(self, span: ReadableSpan, *, open_: bool) -> None:
        try:
            line = encode_span(span, open_=open_)
        except Exception:
            self.trace_file.failed += 1
            return
        self.trace_file.write(line)

    def shutdown(self) -> None:
        self.trace_file.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # every span is with the OS already


def trace_file_for(service: str) -> TraceFile:
    """This process's trace file, sized by ``AGENTLOUPE_TRACE_FILE_MAX_MB`` and ``AGENTLOUPE_TRACE_FILES_ROTATED``."""
    max_mb = _env_number("AGENTLOUPE_TRACE_FILE_MAX_MB", DEFAULT_MAX_BYTES / 1024 / 1024)
    keep = int(_env_number("AGENTLOUPE_TRACE_FILES_ROTATED", DEFAULT_KEEP_ROTATED))
    return TraceFile(
        traces_dir() / f"{service}-{os.getpid()}.jsonl", max_bytes=int(max_mb * 1024 * 1024), keep_rotated=keep
    )


def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value >= 0 else default


# -- retention ------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _first_trace_id(path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    found = re.search(r'"traceId":"([0-9a-f]{32})"', head)
    return found.group(1) if found else None


def prune_files(directory: Path, pattern: re.Pattern[str], keep: int, group_of: Any = None) -> list[Path]:
    """Delete the oldest files of ``directory`` beyond the newest ``keep`` groups; never a live process's."""
    if not directory.is_dir():
        return []
    files = []
    for path in directory.iterdir():
        match = pattern.match(path.name)
        if match:
            try:
                files.append((path.stat().st_mtime, path, int(match.group("pid"))))
            except OSError:
                continue
    files.sort(reverse=True)
    groups: set[Any] = set()
    removed = []
    for _, path, pid in files:
        group = group_of(path) if group_of is not None else path
        if group not in groups and len(groups) < keep:
            groups.add(group)
            continue
        if group in groups or _alive(pid):
            continue
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            continue
    return removed


def prune_trace_files(
    home: Path | None = None, keep_traces: int | None = None, *, about_to_write: int = 1
) -> list[Path]:
    """Leave the files of the newest ``keep_traces`` traces (``AGENTLOUPE_TRACES_KEEP``, 200); server logs alike.

    A command prunes as it starts, before its own file exists: ``about_to_write`` (1) makes room
    for the trace it is about to write, so that once it has run the newest ``keep_traces`` are left.
    """
    keep = keep_traces if keep_traces is not None else int(_env_number("AGENTLOUPE_TRACES_KEEP", DEFAULT_KEEP_TRACES))
    keep = max(keep - about_to_write, 0)
    home = home or agentloupe_home()
    removed = prune_files(traces_dir(home), FILE_NAME, keep, group_of=lambda p: _first_trace_id(p) or p)
    removed += prune_files(home / "logs", re.compile(r"^(?P<name>.+)-(?P<pid>\d+)\.log$"), keep)
    return removed


__all__: Sequence[str] = [
    "FILE_NAME",
    "FileSpanProcessor",
    "TraceFile",
    "agentloupe_home",
    "encode_span",
    "prune_trace_files",
    "trace_file_for",
    "traces_dir",
]
