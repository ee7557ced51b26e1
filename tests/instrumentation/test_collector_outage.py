"""A collector that answers 503 during a 10,000-span burst, then recovers (a real HTTP peer)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

PROGRAM = textwrap.dedent(
    """
    import resource, sys, time
    from agentloupe.instrumentation import configure, shutdown
    from agentloupe.instrumentation.spans import traced
    configure(service_name="burst", otlp_endpoint=sys.argv[1], protocol="http/protobuf", shutdown_budget_s=5)
    for i in range(10_000):
        with traced(f"burst {i}"):
            pass
    time.sleep(float(sys.argv[2]))  # the collector recovers meanwhile
    for i in range(100):
        with traced(f"after {i}"):
            pass
    shutdown()
    print("peak_rss_kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)


class FlakyCollector(BaseHTTPRequestHandler):
    unavailable_until = 0.0
    names: list[str] = []
    rejected = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if time.monotonic() < FlakyCollector.unavailable_until:
            FlakyCollector.rejected += 1
            self.send_response(503)
            self.end_headers()
            return
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            for scope in resource_spans.scope_spans:
                FlakyCollector.names.extend(span.name for span in scope.spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_burst_during_an_outage_is_bounded_counted_and_recovers(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyCollector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FlakyCollector.unavailable_until = time.monotonic() + 3.0
    try:
        result = subprocess.run(
            [sys.executable, "-c", PROGRAM, f"http://127.0.0.1:{server.server_port}", "4"],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none", "AGENTLOUPE_HOME": str(tmp_path)},
        )
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    assert FlakyCollector.rejected >= 1  # the outage was real
    after = {name for name in FlakyCollector.names if name.startswith("after ")}
    assert after == {f"after {i}" for i in range(100)}  # everything sent after recovery arrived
    dropped_lines = [line for line in result.stderr.splitlines() if "telemetry_spans_dropped" in line]
    assert len(dropped_lines) == 1, result.stderr[-2000:]  # one line, not one per span
    dropped = json.loads(dropped_lines[0])["dropped"]
    assert dropped > 0 and dropped + len([n for n in FlakyCollector.names if n.startswith("burst ")]) <= 10_000
    assert result.stderr.count("Queue full") == 0 or result.stderr.count("\n") < 20  # no flood
    peak_kib = int(result.stdout.split("peak_rss_kib")[1].split()[0])
    assert peak_kib < 400 * 1024  # bounded: the queue holds 2048 spans, the rest is dropped
