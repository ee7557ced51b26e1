"""The embedded default: every span on disk as it ends, as OTLP/JSON lines (``view.traces`` reads them).

Every process writes ``$AGENTLOUPE_HOME/traces/<service>-<pid>.jsonl``: one
``ExportTraceServiceRequest`` per line in the OTLP/JSON encoding (hex ids,
enums as integers, 64-bit integers as strings).

Crash-safe: a span is copied into a shared mapping of the file (the kernel's
page cache, no system call) when it ends, on the thread that ends it, so a
process killed by SIGKILL, ``os._exit`` or a segfault keeps every span that
finished before. A span is also written when it starts, marked open
(``endTimeUnixNano`` 0, ``agentloupe.span.open``): one that never ends (its
process died first) is shown as unfinished, not lost.

Bounded: a file past ``max_bytes`` is rotated (``<service>-<pid>.1.jsonl``, ...;
``keep_rotated`` of them); ``prune_trace_files()`` keeps the files of the
newest traces and never touches a file whose process still runs.
"""

from __future__ import annotations

import json
import mmap
import os
import re
import threading
import weakref
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

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

_KINDS = {SpanKind.INTERNAL: 1, SpanKind.SERVER: 2, SpanKind.CLIENT: 3, SpanKind.PRODUCER: 4, SpanKind.CONSUMER: 5}
_STATUS = {StatusCode.UNSET: 0, StatusCode.OK: 1, StatusCode.ERROR: 2}


def traces_dir(home: Path | None = None) -> Path:
    return (home or agentloupe_home()) / "traces"


# -- encoding -------------------------------------------------------------------
#
# By hand, not by json.dumps of a dict: a span is encoded twice (start, end) on the thread that
# ends it, and the generic encoder (a dict per value, the SDK's attribute mapping read through
# its locked accessors) cost more than the SDK's own span did (measured, BENCHMARKS.md).

_quote = json.encoder.encode_basestring_ascii  # what json.dumps does to a str (C)
_float = json.JSONEncoder(separators=(",", ":")).encode  # NaN and Infinity as json.dumps writes them


def _any_value(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return '{"stringValue":' + _quote(value) + "}"
    if kind is bool:
        return '{"boolValue":true}' if value else '{"boolValue":false}'
    if kind is int:
        return '{"intValue":"' + str(value) + '"}'
    if kind is float:
        return '{"doubleValue":' + _float(value) + "}"
    if kind is tuple or kind is list:
        return '{"arrayValue":{"values":[' + ",".join([_any_value(v) for v in value]) + "]}}"
    # subclasses (an IntEnum, a str subclass), anything else: as the types they are, or as text
    if isinstance(value, str):
        return _any_value(str.__str__(value))
    if isinstance(value, bool):
        return _any_value(bool(value))
    if isinstance(value, int):
        return _any_value(int(value))
    if isinstance(value, float):
        return _any_value(float(value))
    if isinstance(value, (list, tuple)):
        return _any_value(list(value))
    return _any_value(str(value))


def _plain(attributes: Any) -> Mapping[str, Any]:
    """The dict inside the SDK's ``BoundedAttributes`` (its mapping methods take a lock each)."""
    return getattr(attributes, "_dict", None) or attributes or {}


def _key_values(attributes: Mapping[str, Any] | None, extra: str = "") -> str:
    items = [f'{{"key":{_quote(key)},"value":{_any_value(value)}}}' for key, value in _plain(attributes).items()]
    if extra:
        items.append(extra)
    return ",".join(items)


_envelopes: dict[tuple[int, str, str | None], tuple[str, str]] = {}


def _envelope(span: ReadableSpan) -> tuple[str, str]:
    """The request around one span (resource, scope), as text, cached per resource and scope."""
    scope = span.instrumentation_scope
    key = (id(span.resource), scope.name if scope else "", scope.version if scope else None)
    cached = _envelopes.get(key)
    if cached is None:
        resource = f'{{"attributes":[{_key_values(span.resource.attributes)}]}}'
        scope_json = '{"name":' + _quote(scope.name if scope else "")
        if scope and scope.version:
            scope_json += ',"version":' + _quote(scope.version)
        cached = (
            f'{{"resourceSpans":[{{"resource":{resource},"scopeSpans":[{{"scope":{scope_json}}},"spans":[',
            "]}]}]}",
        )
        _envelopes[key] = cached
    return cached


_OPEN = '{"key":"' + semconv.SPAN_OPEN + '","value":{"boolValue":true}}'


def _closed(opened: str, attributes: Any) -> str:
    """An event or a link: its fields so far, its attributes if any, closed."""
    return opened + (f',"attributes":[{_key_values(attributes)}]}}' if attributes else "}")


def encode_span(span: ReadableSpan, *, open_: bool = False) -> str:
    """One span as one OTLP/JSON ``ExportTraceServiceRequest`` (one line)."""
    context = span.get_span_context()
    assert context is not None
    parts = [
        f'{{"traceId":"{context.trace_id:032x}","spanId":"{context.span_id:016x}","name":{_quote(span.name)},'
        f'"kind":{_KINDS.get(span.kind, 1)},"startTimeUnixNano":"{span.start_time or 0}",'
        f'"endTimeUnixNano":"{0 if open_ else span.end_time or 0}"'
    ]
    parent = span.parent
    if parent is not None:
        parts.append(f',"parentSpanId":"{parent.span_id:016x}"')
    attributes = _key_values(getattr(span, "_attributes", None), _OPEN if open_ else "")
    if attributes:
        parts.append(f',"attributes":[{attributes}]')
    events = getattr(span, "_events", None)
    if events and not open_:
        parts.append(
            ',"events":['
            + ",".join(
                _closed(f'{{"timeUnixNano":"{e.timestamp}","name":{_quote(e.name)}', e.attributes) for e in events
            )
            + "]"
        )
    links = getattr(span, "_links", None)
    if links:
        parts.append(
            ',"links":['
            + ",".join(
                _closed(
                    f'{{"traceId":"{link.context.trace_id:032x}","spanId":"{link.context.span_id:016x}"',
                    link.attributes,
                )
                for link in links
            )
            + "]"
        )
    status = span.status
    if status.status_code is not StatusCode.UNSET and not open_:
        parts.append(f',"status":{{"code":{_STATUS[status.status_code]}')
        parts.append(f',"message":{_quote(status.description)}}}' if status.description else "}")
    parts.append("}")
    head, tail = _envelope(span)
    return head + "".join(parts) + tail


# -- writing --------------------------------------------------------------------

#: The file grows by this much at a time, its blocks reserved up front (posix_fallocate): a full
#: disk is then an error at growth, never a SIGBUS at a write into the mapping.
CHUNK_BYTES = 1024 * 1024


class TraceFile:
    """One process's trace file: records copied into a shared mapping of the file, rotated by size.

    No system call per record: the pages are the kernel's page cache, so a record is in the file
    the moment it is copied, and stays there if the process is killed the next instant (SIGKILL,
    a segfault, ``os._exit``). The file grows ``CHUNK_BYTES`` at a time; ``close()`` cuts it to
    what was written. A process that died leaves NUL bytes after its last record, which readers
    skip. A forked child writes a file of its own (its pid in the name).
    """

    def __init__(
        self, path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, keep_rotated: int = DEFAULT_KEEP_ROTATED
    ) -> None:
        self.path, self.max_bytes, self.keep_rotated = path, max_bytes, keep_rotated
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._map: mmap.mmap | None = None
        self._map_start = 0  # the file offset the mapping begins at
        self._size = 0  # bytes written to the file
        # grown a chunk at a time, no more than a rotated file holds (a page at least)
        self._chunk = max(mmap.PAGESIZE, min(CHUNK_BYTES, -(-max_bytes // mmap.PAGESIZE) * mmap.PAGESIZE))
        self.failed = 0
        _files.add(self)

    def _rotated(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.stem}.{n}.jsonl")

    def write(self, line: str) -> None:
        data = (line + "\n").encode("utf-8", "replace")
        with self._lock:
            before = self._size
            try:
                if self._fd is None:
                    self._open()
                    before = self._size
                self._copy(data)
                if self._size > self.max_bytes:
                    self._rotate()
            except Exception:  # a full disk (or a span ended as the interpreter is torn down):
                self.failed += 1  # the agent goes on; the count says what was lost
                self._size = before  # a record half copied is written over by the next

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = _os_open(str(self.path), os.O_RDWR | os.O_CREAT, 0o644)  # open until close()
        self._size = self._written_size(self._fd)
        self._map_at(self._size - self._size % self._chunk)

    def _written_size(self, fd: int) -> int:
        """Where the records end: a file left by a process that died ends in NUL bytes."""
        size = os.fstat(fd).st_size
        if size == 0:
            return 0
        tail = os.pread(fd, min(size, self._chunk), size - min(size, self._chunk))
        return size - len(tail) + len(tail.rstrip(b"\0"))

    def _map_at(self, start: int) -> None:
        """Map ``[start, start + chunk)``, the file's blocks there reserved first."""
        assert self._fd is not None
        if self._map is not None:
            self._map.close()
            self._map = None
        self._map_start = start
        if _fallocate is not None:
            _fallocate(self._fd, start, self._chunk)
        elif os.fstat(self._fd).st_size < start + self._chunk:
            os.ftruncate(self._fd, start + self._chunk)
        self._map = mmap.mmap(self._fd, self._chunk, offset=start)
        self._map_start = start

    def _copy(self, data: bytes) -> None:
        at, size = self._size - self._map_start, len(data)
        if self._map is not None and at + size <= self._chunk:  # (nearly always: one copy)
            self._map[at : at + size] = data
            self._size += size
            return
        while data:
            if self._map is None:  # (its growth failed before, a full disk: tried again now)
                self._map_at(self._size - self._size % self._chunk)
                continue
            at = self._size - self._map_start
            room = self._chunk - at
            if room <= 0:
                self._map_at(self._map_start + self._chunk)
                continue
            self._map[at : at + min(room, len(data))] = data[:room]
            self._size += min(room, len(data))
            data = data[room:]

    def _release(self) -> None:
        """Unmap and cut the file to what was written."""
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, self._size)
            finally:
                os.close(self._fd)
                self._fd = None

    def _rotate(self) -> None:
        self._release()
        self._rotated(self.keep_rotated).unlink(missing_ok=True)
        for n in range(self.keep_rotated - 1, 0, -1):
            if self._rotated(n).exists():
                self._rotated(n).rename(self._rotated(n + 1))
        if self.keep_rotated > 0:
            self.path.rename(self._rotated(1))
        else:
            self.path.unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock, suppress(OSError):
            self._release()

    def _forked(self) -> None:
        """In a forked child: the parent's mapping and file stay the parent's."""
        self._lock = threading.Lock()
        self._map, self._fd, self._size = None, None, 0  # (the child's copies die with it)
        name = FILE_NAME.match(self.path.name)
        if name:
            self.path = self.path.with_name(f"{name.group('service')}-{os.getpid()}.jsonl")


_files: weakref.WeakSet[TraceFile] = weakref.WeakSet()
#: Bound at import: a span can end while the interpreter is torn down (a task finalised after a
#: Ctrl-C), when builtins are already going; its end record is still written.
_os_open = os.open
_fallocate = getattr(os, "posix_fallocate", None)


def _after_fork_in_child() -> None:
    for trace_file in list(_files):
        trace_file._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


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
    """This process's trace file, sized by ``AGENTLOUPE_TRACE_FILE_MAX_MB`` and ``AGENTLOUPE_TRACE_FILES_ROTATED``.

    One per path in a process: telemetry set up again (``configure()`` after ``shutdown()``) writes
    through the same one (two mappings of one file would write over each other).
    """
    max_mb = _env_number("AGENTLOUPE_TRACE_FILE_MAX_MB", DEFAULT_MAX_BYTES / 1024 / 1024)
    keep = int(_env_number("AGENTLOUPE_TRACE_FILES_ROTATED", DEFAULT_KEEP_ROTATED))
    path = traces_dir() / f"{service}-{os.getpid()}.jsonl"
    for existing in list(_files):
        if existing.path == path:
            existing.max_bytes, existing.keep_rotated = int(max_mb * 1024 * 1024), keep
            return existing
    return TraceFile(path, max_bytes=int(max_mb * 1024 * 1024), keep_rotated=keep)


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
