"""A real OTLP collector process between the program and the backend: rotel (PyPI)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from agentloupe.platform.sessions.launcher import free_port
from tests.conftest import QUESTION, run_loupe
from tests.integration.test_phoenix import _spans


def _rotel_binary() -> str:
    import rotel

    return str(Path(rotel.__file__).parent / "rotel-agent")


def _start_rotel(*args: str, log: Path) -> tuple[subprocess.Popen, int]:
    grpc_port, http_port = free_port(), free_port()
    process = subprocess.Popen(
        [_rotel_binary(), "start", "--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}", "--otlp-http-endpoint", f"127.0.0.1:{http_port}", *args],
        stdout=open(log, "wb"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            socket.create_connection(("127.0.0.1", grpc_port), timeout=1).close()
            return process, grpc_port
        except OSError:
            assert time.monotonic() < deadline, "rotel did not listen"
            time.sleep(0.1)


@pytest.fixture
def stop():
    processes = []
    yield processes.append
    for process in processes:
        process.terminate()
        process.wait(10)


def test_spans_arrive_whole_through_rotel(home, phoenix, stop):
    grpc_endpoint = phoenix["grpc"].removeprefix("http://")
    process, port = _start_rotel(
        "--exporter", "otlp", "--otlp-exporter-endpoint", f"http://{grpc_endpoint}", "--otlp-exporter-protocol", "grpc",
        log=home / "rotel.log",
    )
    stop(process)
    result = run_loupe(home, "run", "--otlp", f"http://127.0.0.1:{port}", QUESTION,
                       OTEL_EXPORTER_OTLP_PROTOCOL="grpc", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none")
    assert result.returncode == 0, result.stderr
    trace_id = result.stderr.split("trace_id=")[1].split()[0]
    spans = _spans(phoenix["base"], trace_id, expected=22)
    assert len(spans) >= 22
    names = {s["name"] for s in spans}
    assert {"loupe run", "invoke_agent agentloupe", "tools/call add", "tools/call get_weather", "shutdown"} <= names
    by_id = {s["context"]["span_id"]: s for s in spans}
    server_add = [s for s in spans if s["name"] == "tools/call add" and s["parent_id"] in by_id and by_id[s["parent_id"]]["name"] == "tools/call add"]
    assert server_add, "the server span kept its client parent through the collector"


def test_logs_go_out_as_otlp_with_the_trace_id(home, stop):
    log = home / "rotel.log"
    process, port = _start_rotel("--exporter", "blackhole", "--debug-log", "logs", "--debug-log-verbosity", "detailed", log=log)
    stop(process)
    result = run_loupe(home, "call", "--otlp", f"http://127.0.0.1:{port}", "faults.block_loop", '{"ms": 300}',
                       OTEL_EXPORTER_OTLP_PROTOCOL="grpc", OTEL_METRICS_EXPORTER="none")
    assert result.returncode == 0, result.stderr
    trace_id = result.stderr.split("trace_id=")[1].split()[0]
    deadline = time.monotonic() + 15
    # the tool's block: on a loaded machine the server's start may block its loop first, outside
    # any span (a record of its own, with no trace id), so each record is read on its own
    records: list[str] = []
    while time.monotonic() < deadline:
        text = log.read_bytes().decode("utf-8", "replace")
        records = [r[:1500] for r in text.split("Body: Str(event_loop_blocked)")[1:]]
        if any("faults.py" in r.split("Trace ID")[0] for r in records):
            break
        time.sleep(0.2)
    record = next(r for r in records if "faults.py" in r.split("Trace ID")[0])
    assert f"Trace ID       : {trace_id}" in record
