"""Faults, bad input and security: nothing hangs, nothing leaks, nothing is lost.

Each scenario runs real processes (or a real peer on 127.0.0.1), bounded in time.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from tests.conftest import (
    ASSETS,
    MCP_GENERATION,
    alive,
    assert_trace_complete,
    http_server,
    loupe_env,
    open_server_spans,
    run_loupe,
    server_children,
    server_pids,
    spans_in,
    wait_for,
    write_mcp_json,
)


def _config(home, **servers):
    return write_mcp_json(home / "mcp.json", servers)


def _server(*args, **env):
    entry = {"command": sys.executable, "args": list(args)}
    if env:
        entry["env"] = env
    return entry


# 1. a server that answers initialize, then never answers a call
def test_unanswered_call_times_out_cancels_and_the_next_call_works(home):
    config = _config(home, faults=_server("-m", "agentloupe.servers.faults"), math=_server("-m", "agentloupe.servers.math"))
    started = time.monotonic()
    result = run_loupe(home, "run", "--config", str(config), "--timeout", "tool=1", "--on-hang", "cancel", "call hang, then what is 2 + 3")
    assert result.returncode == 0, result.stderr
    assert "hang() failed: DeadlineExceeded: tool passed its 1 s deadline" in result.stdout
    assert "add(a=2, b=3) = 5" in result.stdout
    assert time.monotonic() - started < 30
    spans = spans_in(home)
    client = next(s for s in spans if s.name == "tools/call hang" and s.kind == "CLIENT")
    assert client.is_error and client.attributes["error.type"] == "timeout"
    # the 1 s deadline caused it (the default is 60 s): it ended past 1 s, and long before the default
    assert 1.0 <= client.duration_ms / 1000 < 30
    server = next(s for s in spans if s.name == "tools/call hang" and s.kind == "SERVER")
    assert server.attributes.get("agentloupe.cancelled")
    # notifications/cancelled reached the server: its span ended with the client's (within half a
    # second), not at the server's stop. Not "before the shutdown span": the rest of the run (one
    # 5 ms call) can be shorter than the notification's trip, and the shutdown then starts first.
    stop = next(s for s in spans if s.name == "stop_server faults")
    assert server.end_ns - client.end_ns < 500e6 and server.end_ns < stop.end_ns, (server, client)


# 2. a server that ignores SIGTERM, and one whose child escapes with setsid()
def test_stubborn_server_and_setsid_child_do_not_survive(home):
    pid_file = home / "child.pid"
    config = _config(home, stubborn=_server(str(ASSETS / "stubborn_server.py"), "--setsid-child", CHILD_PID_FILE=str(pid_file)))
    started = time.monotonic()
    result = run_loupe(home, "call", "--config", str(config), "stubborn.ping", "{}")
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pong"
    assert took < 15  # EOF, 2 s, SIGTERM (ignored), 2 s, SIGKILL
    stop = next(s for s in spans_in(home) if s.name == "stop_server stubborn")
    assert stop.attributes["agentloupe.stop.signal"] == "SIGKILL"
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child)
    assert not [pid for pid in server_pids(spans_in(home)) if alive(pid)]


# 4. garbage on a server's stdout
@pytest.mark.parametrize("mode", ["notjson", "badutf8", "hugeline", "deepjson"])
def test_garbage_from_a_server_is_survived(home, mode):
    config = _config(home, garbage=_server(str(ASSETS / "garbage_server.py"), GARBAGE=mode))
    process = subprocess.Popen([sys.executable, "-m", "agentloupe", "call", "--config", str(config), "garbage.echo", "{}"],
                               env=loupe_env(home), cwd=home, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, psutil.Process(process.pid).memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.05)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert stdout.strip() == "still here"
    assert "Traceback" not in stderr
    assert peak < 400 * 1024 * 1024  # bounded: a 10 MB line is dropped, not accumulated
    if mode in ("notjson", "hugeline"):
        assert "server_stdout_" in stderr and "garbage" in stderr


def test_tool_output_past_the_cap_is_truncated_with_a_note(home):
    config = _config(home, garbage=_server(str(ASSETS / "garbage_server.py"), GARBAGE="huge_result"))
    result = run_loupe(home, "call", "--config", str(config), "garbage.echo", "{}")
    assert result.returncode == 0, result.stderr
    assert "[agentloupe: output truncated, " in result.stdout
    assert len(result.stdout) < 70_000
    root = next(s for s in spans_in(home) if s.name == "loupe call")
    assert root.attributes["agentloupe.tool.output_truncated_chars"] > 100_000


# 5. loupe killed with SIGKILL: its servers notice (stdin EOF) and go
def test_servers_exit_when_loupe_is_killed(home):
    config = _config(home, faults=_server("-m", "agentloupe.servers.faults"), math=_server("-m", "agentloupe.servers.math"),
                     weather={"command": sys.executable, "args": ["-m", "agentloupe.servers.weather", "--port", "{port}"], "url": "http://127.0.0.1:{port}/mcp"})
    process = subprocess.Popen([sys.executable, "-m", "agentloupe", "run", "--config", str(config), "call slow with ms 20000"],
                               env=loupe_env(home), cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    children: list[psutil.Process] = []
    while time.monotonic() < deadline and len(children) < 3:
        children = server_children(process.pid)
        time.sleep(0.1)
    assert len(children) == 3
    wait_for(lambda: open_server_spans(home, "tools/call slow"), "the slow call to be running in the faults server")
    process.kill()
    process.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(c.pid) for c in children):
        time.sleep(0.1)
    assert not [c.pid for c in children if alive(c.pid)]
    # the killed process's trace file: every span that ended before the kill, the open ones unfinished
    killed = [s for s in spans_in(home) if s.service == "agentloupe"]
    started = [s for s in killed if s.name.startswith("start_server")]
    assert len(started) == 3 and not [s.name for s in started if s.unfinished]
    assert [s for s in killed if s.name == "tools/call slow" and s.kind == "CLIENT" and s.unfinished]


# 6. SIGINT with three sessions open and calls in flight
@pytest.mark.parametrize("command", ["run", "call"])
def test_sigint_stops_cleanly_with_exit_130(home, command):
    config = _config(home, faults=_server("-m", "agentloupe.servers.faults"), math=_server("-m", "agentloupe.servers.math"),
                     weather={"command": sys.executable, "args": ["-m", "agentloupe.servers.weather", "--port", "{port}"], "url": "http://127.0.0.1:{port}/mcp"})
    args = ["run", "--config", str(config), "call slow with ms 20000, call slow with ms 15000, what is 2 + 3"] if command == "run" else ["call", "--config", str(config), "faults.slow", '{"ms": 20000}']
    process = subprocess.Popen([sys.executable, "-m", "agentloupe", *args], env=loupe_env(home), cwd=home,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    in_flight = 2 if command == "run" else 1
    wait_for(lambda: len(open_server_spans(home, "tools/call slow")) == in_flight, f"{in_flight} slow call(s) in flight")
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "cancel scope" not in stderr
    spans = spans_in(home)
    # stopped, not waited for: each slow call, on both sides, was cancelled and ended long before
    # the 15 s it asked for (no wall-clock bound: a loaded machine is slow, not 15 s slow)
    slow = [s for s in spans if s.name == "tools/call slow"]
    assert len(slow) == 2 * in_flight
    assert all(s.attributes.get("agentloupe.cancelled") is True and s.duration_ms < 15_000 for s in slow), slow
    shutdown = next(s for s in spans if s.name == "shutdown")
    assert_trace_complete(spans, shutdown.trace_id)  # the cancelled calls ended too, on both sides
    assert not [pid for pid in server_pids(spans) if alive(pid)]


# 7. collector unreachable: refused, and accepting but never answering
@pytest.mark.parametrize("kind", ["refused", "silent"])
def test_collector_down_costs_one_warning_and_a_bounded_shutdown(home, kind):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    if kind == "silent":
        sock.listen(64)
    port = sock.getsockname()[1]
    if kind == "refused":
        sock.close()
    started = time.monotonic()
    result = run_loupe(home, "run", "--otlp", f"http://127.0.0.1:{port}", "What is 25 + 37, and the weather in Tokyo?",
                       OTEL_EXPORTER_OTLP_PROTOCOL="grpc", AGENTLOUPE_TELEMETRY_BUDGET="2")
    took = time.monotonic() - started
    if kind == "silent":
        sock.close()
    assert result.returncode == 0, result.stderr
    assert "= 62" in result.stdout
    assert took < 25  # the run, plus a 2 s flush budget in each process
    # refused: the exporter says so at once; silent: the flush budget runs out first. Either way a
    # few lines (at most one per signal), and the user is told what was lost.
    failing = [line for line in result.stderr.splitlines() if "telemetry export of" in line]
    over_budget = [line for line in result.stderr.splitlines() if "telemetry_flush_over_budget" in line]
    assert failing or over_budget, result.stderr
    for signal in ("traces", "metrics", "logs"):
        assert len([line for line in failing if f"export of {signal} is failing" in line]) <= 1, result.stderr
    assert "spans could not be delivered" in result.stderr
    # the SDK's own error lines are folded into those (a silent collector can fail two signals)
    raw = [line for line in result.stderr.splitlines() if "Failed to export" in line and line not in failing]
    assert raw == [], result.stderr  # whole, to tell which lines when it fails


# 7b. a backend that takes traces but not metrics or logs (Jaeger, Phoenix)
def test_a_traces_only_backend_gets_traces_and_one_line_about_metrics(home):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = subprocess.Popen([sys.executable, str(ASSETS / "traces_only_backend.py"), str(port)])
    try:
        wait_for(lambda: subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}"]).returncode == 0, "the backend")
        result = run_loupe(home, "call", "--otlp", f"http://127.0.0.1:{port}", "math.add", '{"a": 1, "b": 2}',
                           OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf")
    finally:
        backend.kill()
        backend.wait(10)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"
    unsupported = [line for line in result.stderr.splitlines() if "does not take metrics" in line]
    assert len(unsupported) == 1 and "404" in unsupported[0], result.stderr
    assert "is failing" not in result.stderr and "could not be delivered" not in result.stderr
    assert re.search(r"loupe: \d+ spans exported to http://127.0.0.1:\d+ \(http/protobuf\)", result.stderr)


# 9. secrets in a prompt, tool arguments and an error message
SECRETS = ("sk-proj-abcdefghijklmnopqrstuvwx", "Bearer eyJhbGciOiJIUzI1NiJ9abcdefgh", "alice.secret@example.com")


def _all_exported_bytes(home) -> bytes:
    return b"".join(path.read_bytes() for path in (home / "traces").glob("*.jsonl")) + b"".join(
        path.read_bytes() for path in (home / "logs").glob("*.log")
    ) if (home / "logs").exists() else b"".join(path.read_bytes() for path in (home / "traces").glob("*.jsonl"))


@pytest.mark.parametrize("capture", [False, True])
def test_secrets_never_leave_unredacted(home, capture):
    # format_text's error echoes the bad style: the API key lands in an error message
    prompt = f"call format_text with style {SECRETS[0]} text hello, call current_time with timezone {SECRETS[1]}, contact {SECRETS[2]}"
    args = ["run", prompt] + (["--capture-content"] if capture else [])
    result = run_loupe(home, *args)
    assert result.returncode == 0, result.stderr
    exported = _all_exported_bytes(home) + result.stderr.encode()
    for secret in SECRETS:
        assert secret.encode() not in exported
        assert secret.split()[-1].encode() not in exported
    if capture:
        assert b"[REDACTED" in exported  # captured, and redacted
    error = next(s for s in spans_in(home) if s.name == "execute_tool format_text")
    assert error.is_error and "REDACTED" in error.status_message
    assert "unknown style" in result.stdout  # the tool did fail with the key in its message


@pytest.mark.parametrize("capture", [False, True])
def test_mcp_tool_results_are_captured_on_both_sides_only_when_asked(home, capture):
    result = run_loupe(home, "run", "What is 25 + 37?", *(["--capture-content"] if capture else []))
    assert result.returncode == 0, result.stderr
    calls = [s for s in spans_in(home) if s.name == "tools/call add"]
    assert {s.kind for s in calls} == {"CLIENT", "SERVER"}
    captured = {s.kind: s.attributes.get("gen_ai.tool.call.result") for s in calls}
    if capture:
        assert all(text is not None and "62" in text for text in captured.values()), captured
    else:
        assert set(captured.values()) == {None}


# 10. the HTTP MCP server's own defences
@pytest.fixture
def weather_server():
    with http_server(sys.executable, "-m", "agentloupe.servers.weather", stdin=subprocess.PIPE) as url:
        yield url


INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def test_http_server_refuses_foreign_host_origin_and_oversized_bodies(weather_server):
    assert httpx.post(weather_server, json=INIT, headers=HEADERS).status_code == 200
    assert httpx.post(weather_server, json=INIT, headers={**HEADERS, "Host": "evil.example"}).status_code == 421
    assert httpx.post(weather_server, json=INIT, headers={**HEADERS, "Origin": "http://evil.example"}).status_code == 403
    huge = b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"x": "' + b"a" * (8 * 1024 * 1024) + b'"}}'
    assert httpx.post(weather_server, content=huge, headers=HEADERS, timeout=30).status_code == 413


def test_non_loopback_bind_without_security_settings_is_refused():
    result = subprocess.run([sys.executable, "-m", "agentloupe.servers.weather", "--host", "0.0.0.0", "--port", "0", "--no-auth"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "refusing to bind 0.0.0.0" in result.stderr and "--allowed-host" in result.stderr
    assert "Traceback" not in result.stderr


# 3. a server killed mid-call: the call fails naming it, the server comes back, the next call works
def test_server_that_dies_mid_call_is_restarted(home):
    from tests.e2e.test_serve import Served

    config = _config(home, faults=_server("-m", "agentloupe.servers.faults"))
    served = Served(home, "--config", str(config))
    try:
        served.wait_ready()
        crashed = httpx.post(f"{served.base}/v1/runs", json={"input": "call crash with code 3"}, timeout=60)
        assert crashed.status_code == 200, crashed.text
        assert "crash(code=3) failed" in crashed.json()["answer"]
        assert "MCP server 'faults' failed during crash" in crashed.json()["answer"]
        after = httpx.post(f"{served.base}/v1/runs", json={"input": "call slow with ms 10"}, timeout=60)
        assert after.status_code == 200 and "slept 10 ms" in after.json()["answer"], after.text
    finally:
        assert served.stop() == 0
    spans = spans_in(home)
    exited = next(s for s in spans if s.name == "server_exited faults")
    assert exited.is_error and exited.attributes["process.exit.code"] == 3
    restart = next(s for s in spans if s.name == "restart_server faults")
    assert restart.attributes["agentloupe.server.restarts"] == 1
    assert not [pid for pid in server_pids(spans) if alive(pid)]


# 3a. the same for an HTTP server agentloupe launched
def test_launched_http_server_that_dies_mid_call_is_restarted(home):
    from tests.e2e.test_serve import Served

    flaky = {
        "command": sys.executable,
        "args": [str(ASSETS / "flaky_http_server.py"), "--port", "{port}", "--mode", "exit"],
        "url": "http://127.0.0.1:{port}/mcp",
        "env": {"FLAKY_STATE": str(home / "crashed-once")},
    }
    served = Served(home, "--config", str(_config(home, flaky=flaky)))
    try:
        served.wait_ready()
        crashed = httpx.post(f"{served.base}/v1/runs", json={"input": "call echo with text one"}, timeout=60)
        assert crashed.status_code == 200, crashed.text
        assert 'echo(text="one") failed' in crashed.json()["answer"] and "flaky" in crashed.json()["answer"]
        wait_for(lambda: any(s.name == "restart_server flaky" for s in spans_in(home)), "the restart")
        after = httpx.post(f"{served.base}/v1/runs", json={"input": "call echo with text two"}, timeout=60)
        assert after.status_code == 200 and 'echo(text="two") = two' in after.json()["answer"], after.text
    finally:
        assert served.stop() == 0
    spans = spans_in(home)
    exited = next(s for s in spans if s.name == "server_exited flaky")
    assert exited.is_error and exited.attributes["process.exit.code"] == 3
    assert not [pid for pid in server_pids(spans) if alive(pid)]


# 3b. HTTP-level failures on a server that stays up
@pytest.mark.parametrize("mode", ["500", "404", "cut"])
def test_http_failure_fails_the_call_and_the_next_call_works(home, mode):
    """A 500 kills mcp 1.x's transport: the call fails at once and the session is re-created; mcp 2
    keeps its session: the call fails at once, naming the status, and the next goes on that session.
    A 404 (the server forgot the session) fails the call at once; the session is re-created.
    An SSE stream cut before its event (mcp 1.30 would wait for ever) fails the call at once;
    the session, still sound, serves the next call.
    """
    from tests.e2e.test_serve import Served

    with http_server(sys.executable, str(ASSETS / "flaky_http_server.py"), "--mode", mode) as url:
        config = _config(home, flaky={"url": url})
        served = Served(home, "--config", str(config), "--timeout", "tool=60", "--on-hang", "cancel")
        try:
            served.wait_ready()
            started = time.monotonic()
            failed = httpx.post(f"{served.base}/v1/runs", json={"input": "call echo with text one"}, timeout=60)
            took = time.monotonic() - started
            assert failed.status_code == 200, failed.text
            assert 'echo(text="one") failed' in failed.json()["answer"]
            assert took < 20  # at once: far from the 60 s deadline it would otherwise wait for
            assert "flaky" in failed.json()["answer"]  # the error names the server
            after = httpx.post(f"{served.base}/v1/runs", json={"input": "call echo with text two"}, timeout=60)
            assert after.status_code == 200 and 'echo(text="two") = two' in after.json()["answer"], after.text
        finally:
            assert served.stop() == 0
    spans = spans_in(home)
    if mode == "500" and MCP_GENERATION == 2:
        assert "HTTP 500" in failed.json()["answer"]
        assert not any(s.name.startswith("session_lost") for s in spans)
    elif mode in ("500", "404"):
        assert any(s.name == "session_lost flaky" and s.is_error for s in spans)
        assert any(s.name == "restart_server flaky" for s in spans)
    else:
        call = next(s for s in spans if s.name == "tools/call echo" and s.is_error)
        assert call.attributes["error.type"] == "-32000"  # connection closed, not a timeout
        assert not any(s.name.startswith("session_lost") for s in spans)
