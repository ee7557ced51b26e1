"""Shutdown keeps its budget when the collector accepts connections and never answers.

The exporters are given the SDK's default 30 s timeout, so that without the budget shutdown would
wait 30 s and more: the bound below (a generous 10 s for a 1 s budget, on a loaded machine) then
tells a kept budget from a broken one.
"""

import socket
import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import sys, time
    from agentloupe.instrumentation import configure, shutdown
    from agentloupe.instrumentation.spans import traced
    configure(service_name="budget-test", otlp_endpoint=sys.argv[1], protocol=sys.argv[2], shutdown_budget_s=1.0,
              export_timeout_s=30.0)
    for i in range(200):
        with traced(f"span {i}"):
            pass
    started = time.monotonic()
    ok = shutdown()
    print(f"{time.monotonic() - started:.3f} {ok}")
    """
)


def _blackhole() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(100)  # accepts (kernel backlog) and never answers
    return sock


def _run(endpoint: str, protocol: str) -> tuple[float, str, str]:
    result = subprocess.run([sys.executable, "-c", PROGRAM, endpoint, protocol], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    took, ok = result.stdout.split()  # logs go to stderr, never stdout
    return float(took), ok, result.stderr


def test_grpc_collector_that_never_answers():
    sock = _blackhole()
    took, ok, stderr = _run(f"http://127.0.0.1:{sock.getsockname()[1]}", "grpc")
    sock.close()
    assert took < 10.0  # budget 1 s (slack for a loaded machine); the exporter alone waits 30 s and more
    # nothing reached the collector: shutdown says so (False) and names what was lost
    assert ok == "False" and "Traceback" not in stderr
    assert "telemetry_spans_not_delivered" in stderr


def test_http_collector_refusing_connections():
    sock = _blackhole()
    port = sock.getsockname()[1]
    sock.close()  # nothing listens now: connection refused
    took, _, _ = _run(f"http://127.0.0.1:{port}", "http/protobuf")
    assert took < 10.0  # budget 1 s; the exporter alone retries for 30 s
