"""A run that survives a missing server; a server that fails at first is tried again."""

from __future__ import annotations

import sys

from tests.conftest import ASSETS, run_loupe, spans_in, wait_for, write_mcp_json

MATH = {"command": sys.executable, "args": ["-m", "agentloupe.servers.math"]}


def test_a_missing_server_leaves_a_degraded_run_that_still_answers(home):
    config = write_mcp_json(home / "mcp.json", {"broken": {"command": "/no/such/binary"}, "math": MATH})
    result = run_loupe(home, "run", "--config", str(config), "add 2 and 3")
    assert result.returncode == 3, result.stderr  # degraded: answered, without a server
    assert "add(a=2, b=3) = 5" in result.stdout
    assert "Not available in this run" in result.stdout and "MCP server 'broken' failed to start" in result.stdout
    assert "loupe: warning: MCP server 'broken' was not available" in result.stderr
    spans = spans_in(home)
    start = next(s for s in spans if s.name == "start_server broken")
    assert start.is_error  # the tree shows the failed start
    root = next(s for s in spans if s.name == "loupe run")
    assert root.attributes["agentloupe.servers.missing"] == ["broken"]


def test_a_required_server_that_is_missing_fails_the_run_in_one_line(home):
    config = write_mcp_json(home / "mcp.json", {"broken": {"command": "/no/such/binary", "required": True}, "math": MATH})
    result = run_loupe(home, "run", "--no-tree", "--config", str(config), "add 2 and 3")
    assert result.returncode == 1
    # the whole of stderr: that one line, nothing before or after it (no warning, log or traceback)
    assert result.stderr.splitlines() == [
        "loupe: error: MCP server 'broken' failed to start: command '/no/such/binary' not found: check 'command' in your mcp.json"
    ]
    assert result.stdout == ""


def test_a_server_that_fails_its_first_start_is_tried_again(home):
    config = write_mcp_json(home / "mcp.json", {
        "once": {"command": sys.executable, "args": [str(ASSETS / "fails_once_server.py")],
                 "env": {"FAILS_ONCE_STATE": str(home / "started-once")}},
    })
    result = run_loupe(home, "call", "--config", str(config), "once.ping", "{}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pong"
    starts = sorted((s for s in spans_in(home) if s.name == "start_server once"), key=lambda s: s.start_ns)
    assert [s.is_error for s in starts] == [True, False]  # failed, waited, started
    assert starts[1].start_ns - starts[0].end_ns >= 0.2e9  # with a backoff between


def test_serve_readiness_lists_each_server_and_a_degraded_one(home):
    import httpx

    from tests.e2e.test_serve import Served

    config = write_mcp_json(home / "mcp.json", {"broken": {"command": "/no/such/binary"}, "math": MATH})
    served = Served(home, "--config", str(config))
    try:
        served.wait_ready()
        ready = httpx.get(f"{served.base}/readyz").json()
        assert ready["status"] == "degraded" and ready["servers"]["math"] == "ready"
        assert "failed to start" in ready["servers"]["broken"]
    finally:
        assert served.stop() == 0
    required = write_mcp_json(home / "required.json", {"broken": {"command": "/no/such/binary", "required": True}})
    failing = Served(home, "--config", str(required))

    def reports_failed() -> bool:
        try:
            answer = httpx.get(f"{failing.base}/readyz", timeout=2)
        except httpx.TransportError:
            return False
        return answer.status_code == 503 and answer.json()["status"] == "failed"

    try:
        wait_for(reports_failed, "readiness to report the required server's failure")
    finally:
        failing.stop()


def test_the_breaker_opens_on_a_failing_server_refuses_at_once_and_closes_after_a_good_trial(home):
    import time

    import httpx

    from tests.e2e.test_serve import Served

    # A cool-down long enough that the call right after the breaker opens surely lands inside it,
    # even on a loaded machine; the test then waits for the cool-down's end by trying again.
    cooldown_s = 10
    faults = {"command": sys.executable, "args": ["-m", "agentloupe.servers.faults"],
              "breaker_failures": 2, "breaker_cooldown_s": cooldown_s}
    config = write_mcp_json(home / "mcp.json", {"faults": faults})
    served = Served(home, "--config", str(config), "--timeout", "tool=3", "--on-hang", "cancel")

    def run(text: str) -> tuple[str, str, float]:
        started = time.monotonic()
        body = httpx.post(f"{served.base}/v1/runs", json={"input": text}, timeout=60).json()
        return body["answer"], body["trace_id"], time.monotonic() - started

    try:
        served.wait_ready()
        for _ in range(2):  # each call waits its 3 s deadline, then fails
            answer, _, took = run("call hang")
            assert "hang() failed" in answer and took >= 3
        refused, refused_trace, _ = run("call slow with ms 10")
        assert "is failing (2 calls in a row failed)" in refused and "circuit breaker" in refused
        # at once: the call never went out to the server (so it could not wait for its deadline)
        assert not [s.name for s in spans_in(home) if s.trace_id == refused_trace and s.name.startswith("tools/call")]
        answers: list[str] = []

        def a_call_goes_through() -> bool:
            answers.append(run("call slow with ms 10")[0])
            return "circuit breaker" not in answers[-1]

        wait_for(a_call_goes_through, "the cool-down to end and a trial call to go through", timeout=cooldown_s + 60)
        assert "slept 10 ms" in answers[-1]  # the trial call succeeded: closed again
        answer, _, _ = run("call slow with ms 10")
        assert "slept 10 ms" in answer
    finally:
        assert served.stop() == 0
    events = sorted((e["time_ns"], e["attributes"]["agentloupe.breaker.state"])
                    for s in spans_in(home) for e in s.events if e["name"] == "circuit_breaker")
    assert [state for _, state in events] == ["open", "half_open", "closed"]
    (opened, _), (half_open, _), _ = events
    assert half_open - opened >= cooldown_s * 1e9  # every call was refused for the whole cool-down
