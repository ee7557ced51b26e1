"""The embedded default: spans as OTLP/JSON lines on disk (``agentloupe.view.traces`` reads them back).

Every process writes ``$AGENTLOUPE_HOME/traces/<service>-<pid>.jsonl``: one
``ExportTraceServiceRequest`` per line in the protobuf JSON mapping (trace and
span ids as hex, as the OTLP/JSON spec and the collector's file exporter do).
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def agentloupe_home() -> Path:
    return Path(os.environ.get("AGENTLOUPE_HOME") or ".agentloupe").absolute()


def traces_dir(home: Path | None = None) -> Path:
    return (home or agentloupe_home()) / "traces"


def _hex_ids(node: Any) -> Any:
    """Protobuf's JSON mapping writes bytes as base64; OTLP/JSON wants hex ids."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)
    return node


def spans_to_otlp_json(spans: Sequence[ReadableSpan]) -> str:
    message = json_format.MessageToDict(encode_spans(spans))
    return json.dumps(_hex_ids(message), separators=(",", ":"))


class JsonLinesSpanExporter(SpanExporter):
    """Appends each exported batch to a JSONL file as one OTLP/JSON request."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: TextIO | None = None

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            line = spans_to_otlp_json(spans)
            with self._lock:
                if self._file is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - open until shutdown()
                self._file.write(line + "\n")
                self._file.flush()
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
