"""A collector that answers 503 during a 30,000-span burst, then recovers (a real HTTP peer)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

BURST = 30_000

# Memory: a warm-up first (a few spans, exported into the outage), so that what the exporter loads
# and keeps is in the baseline; then the peak is measured against it. The queue holds 2,048 spans
# (a few MB); without its bound, the 30,000 spans of the burst would add about 90 MB.
PROGRAM = textwrap.dedent(
    f"""
    import resource, sys, time
    from agentloupe.instrumentation import configure, flush, shutdown
    from agentloupe.instrumentation.spans import traced
    configure(service_name="burst", otlp_endpoint=sys.argv[1], protocol="http/protobuf", shutdown_budget_s=5)
    for i in range(200):
        with traced(f"warm-up {{i}}"):
            pass
    flush(1.0)
    warm_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for i in range({BURST}):
        with traced(f"burst {{i}}"):
            pass
    print("burst-done", flush=True)
    sys.stdin.readline()  # the test brings the collector back, then says go
    for i in range(100):
        with traced(f"after {{i}}"):
            pass
    shutdown()
    print("rss_kib", warm_kib, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)


class FlakyCollector(BaseHTTPRequestHandler):
    unavailable = threading.Event()
    names: list[str] = []
    rejected = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if FlakyCollector.unavailable.is_set():
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
    """The outage lasts exactly the burst: down until the program says its burst is done, whatever
    the machine's speed; up again before the spans that must all arrive."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyCollector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FlakyCollector.unavailable.set()
    program = subprocess.Popen(
        [sys.executable, "-c", PROGRAM, f"http://127.0.0.1:{server.server_port}"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none", "AGENTLOUPE_HOME": str(tmp_path),
             "AGENTLOUPE_LOG_FORMAT": "json"},
    )
    try:
        assert program.stdout.readline().strip() == "burst-done", program.stderr.read()
        deadline = time.monotonic() + 60
        while FlakyCollector.rejected == 0 and time.monotonic() < deadline:  # the exporter met the outage
            time.sleep(0.05)
        FlakyCollector.unavailable.clear()
        stdout, stderr = program.communicate("go\n", timeout=120)
    finally:
        program.kill()
        server.shutdown()
    assert program.returncode == 0, stderr
    assert FlakyCollector.rejected >= 1  # the outage was real
    after = {name for name in FlakyCollector.names if name.startswith("after ")}
    assert after == {f"after {i}" for i in range(100)}  # everything sent after recovery arrived
    dropped_lines = [line for line in stderr.splitlines() if "telemetry_spans_dropped" in line]
    assert len(dropped_lines) == 1, stderr[-2000:]  # one line, not one per span
    dropped = json.loads(dropped_lines[0])["dropped"]
    assert dropped > 0 and dropped + len([n for n in FlakyCollector.names if n.startswith("burst ")]) <= BURST
    assert stderr.count("\n") < 20, stderr[-2000:]  # no flood: a few lines, whatever the SDK logs
    [warm_kib, peak_kib] = [int(n) for n in stdout.split("rss_kib")[1].split()]
    assert peak_kib - warm_kib < 40 * 1024  # bounded: the queue's few MB, generously; not the burst's 90


def test_only_export_failures_are_taken_for_a_collector_outage():
    # the filter turns the exporters' flood into one line per signal; another OpenTelemetry warning
    # (here the context API's) goes out as it is, not as "is the collector running?"
    import logging

    from agentloupe.instrumentation.telemetry.logs import ExportFailureOnce

    def record(name: str, message: str) -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, __file__, 1, message, None, None)

    once = ExportFailureOnce()
    detach = record("opentelemetry.context", "Failed to detach context")
    assert once.filter(detach) and detach.getMessage() == "Failed to detach context"
    failed = record("opentelemetry.exporter.otlp.proto.http.trace_exporter", "Failed to export span batch code: 503")
    assert once.filter(failed) and "Is the collector running" in failed.getMessage()
    assert not once.filter(record("opentelemetry.exporter.otlp.proto.http.trace_exporter", "Failed again"))
    batch = record("opentelemetry.sdk._shared_internal", "Exception while exporting metrics.")
    assert once.filter(batch) and "export of metrics is failing" in batch.getMessage()


def test_the_grpc_exporters_final_error_names_its_signal_and_is_printed_once():
    # the gRPC exporters' loggers name no signal: the message does ("Failed to export traces to ...")
    from agentloupe.instrumentation.telemetry.logs import ExportFailureOnce

    once = ExportFailureOnce()
    name = "opentelemetry.exporter.otlp.proto.grpc.exporter"
    transient = logging.LogRecord(name, logging.WARNING, __file__, 1, "Transient error encountered while exporting traces to x", None, None)
    final = logging.LogRecord(name, logging.ERROR, __file__, 1, "Failed to export traces to x, error code: UNAVAILABLE", None, None)
    metrics = logging.LogRecord(name, logging.ERROR, __file__, 1, "Failed to export metrics to x, error code: UNAVAILABLE", None, None)
    assert once.filter(transient) and "export of traces is failing" in transient.getMessage()
    assert not once.filter(final)
    assert once.filter(metrics) and "export of metrics is failing" in metrics.getMessage()
