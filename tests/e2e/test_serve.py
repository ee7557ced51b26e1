"""`loupe serve` as a real process: concurrency, 429, traceparent, readiness, SIGTERM drain."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time

import httpx
import pytest

from agentloupe.platform.sessions.launcher import free_port
from tests.conftest import (
    ASSETS,
    alive,
    loupe_env,
    open_server_spans,
    server_pids,
    spans_in,
    wait_for,
    write_mcp_json,
)


class Served:
    def __init__(self, home, *args: str, **env: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.home = home
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agentloupe", "serve", "--port", str(self.port), *args],
            env=loupe_env(home, **env), cwd=home, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.readiness: list[int] = []

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stderr.read()
            try:
                status = httpx.get(f"{self.base}/readyz", timeout=2).status_code
                self.readiness.append(status)
                if status == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError("never ready")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(60)
        finally:
            if self.process.poll() is None:
                self.process.kill()


async def _post_many(base: str, bodies: list[dict], headers: dict | None = None) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=120) as client:
        return await asyncio.gather(*(client.post(f"{base}/v1/runs", json=body, headers=headers) for body in bodies))


def test_fifty_concurrent_runs_share_the_sessions(home):
    served = Served(home, "--max-concurrent", "64")
    try:
        served.wait_ready()
        assert httpx.get(f"{served.base}/healthz").status_code == 200
        bodies = [{"input": f"What is {n} + {n}?"} for n in range(50)]
        responses = asyncio.run(_post_many(served.base, bodies))
        for n, response in enumerate(responses):
            assert response.status_code == 200, response.text
            assert f"= {2 * n}" in response.json()["answer"]
        assert len({r.json()["trace_id"] for r in responses}) == 50
    finally:
        assert served.stop() == 0
    spans = spans_in(home)
    assert len([s for s in spans if s.name.startswith("start_server")]) == 2  # one process per server, for all 50 runs
    assert len([s for s in spans if s.name == "tools/call add" and s.kind == "CLIENT"]) == 50


def test_readyz_is_not_ready_until_the_sessions_are_up(home):
    config = write_mcp_json(home / "mcp.json", {
        "slow": {"command": sys.executable, "args": [str(ASSETS / "slow_start_server.py")]},
    })
    served = Served(home, "--config", str(config))
    try:
        served.wait_ready()
        assert 503 in served.readiness and served.readiness[-1] == 200
        early = [s for s in served.readiness if s == 503]
        assert early
    finally:
        assert served.stop() == 0


def test_full_gets_429(home, gate):
    config, gate_file = gate
    served = Served(home, "--config", str(config), "--max-concurrent", "2")
    try:
        served.wait_ready()

        async def scenario() -> tuple[list[httpx.Response], list[httpx.Response]]:
            async with httpx.AsyncClient(timeout=60) as client:
                held = {"input": "call wait_gate"}
                first = [asyncio.create_task(client.post(f"{served.base}/v1/runs", json=held)) for _ in range(2)]
                try:
                    # both slots taken: the two calls are running in the server, held until the gate opens
                    await asyncio.to_thread(wait_for, lambda: len(open_server_spans(home, "tools/call wait_gate")) == 2, "2 runs in flight")
                    more = [asyncio.create_task(client.post(f"{served.base}/v1/runs", json=held)) for _ in range(4)]
                    # a refusal comes back at once; a run let in would wait for the gate: give them a while
                    await asyncio.wait(more, timeout=30)
                finally:
                    gate_file.write_text("")
                return await asyncio.gather(*first), await asyncio.gather(*more)

        accepted, refused = asyncio.run(scenario())
        assert [r.status_code for r in accepted] == [200, 200]
        assert [r.status_code for r in refused] == [429] * 4
        busy = refused[0]
        assert busy.headers["Retry-After"] == "1" and "busy" in busy.json()["error"]
    finally:
        assert served.stop() == 0


def test_callers_traceparent_is_honoured(home):
    served = Served(home)
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    try:
        served.wait_ready()
        response = httpx.post(f"{served.base}/v1/runs", json={"input": "What is 2 + 3?"},
                              headers={"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"}, timeout=60)
        assert response.status_code == 200 and response.json()["trace_id"] == trace_id
    finally:
        assert served.stop() == 0
    spans = [s for s in spans_in(home) if s.trace_id == trace_id]
    run = next(s for s in spans if s.name == "loupe serve run")
    assert run.parent_span_id == "b7ad6b7169203331"
    assert {"agentloupe", "agentloupe-math"} <= {s.service for s in spans}


def test_bad_requests_get_clear_errors(home):
    served = Served(home)
    try:
        served.wait_ready()
        assert httpx.post(f"{served.base}/v1/runs", content=b"not json").status_code == 400
        missing = httpx.post(f"{served.base}/v1/runs", json={"question": "hi"})
        assert missing.status_code == 400 and '"input"' in missing.json()["error"]
    finally:
        assert served.stop() == 0


@pytest.fixture
def gate(home):
    """A server whose calls stay in flight until the test opens the gate (writes the file)."""
    gate_file = home / "gate"
    config = write_mcp_json(home / "gate.json", {
        "gate": {"command": sys.executable, "args": [str(ASSETS / "gate_server.py")], "env": {"GATE_FILE": str(gate_file)}},
    })
    return config, gate_file


def _listening(base: str) -> bool:
    try:
        httpx.get(f"{base}/healthz", timeout=2)
    except httpx.TransportError:
        return False
    return True


def test_sigterm_drains_runs_in_flight_then_exits_cleanly(home, gate):
    config, gate_file = gate
    served = Served(home, "--config", str(config))
    served.wait_ready()

    async def scenario() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            requests = [asyncio.create_task(client.post(f"{served.base}/v1/runs", json={"input": "call wait_gate"})) for _ in range(3)]
            try:
                # the three runs are in flight: their calls have started in the server, and wait there
                await asyncio.to_thread(wait_for, lambda: len(open_server_spans(home, "tools/call wait_gate")) == 3, "3 runs in flight")
                served.process.send_signal(signal.SIGTERM)
                # draining: no new connection is taken, and the runs held a while longer are not cut
                # short (the drain allows them 30 s; a broken one cancels them at once)
                await asyncio.to_thread(wait_for, lambda: not _listening(served.base), "the server to stop accepting")
                await asyncio.sleep(1)
                assert served.process.poll() is None and len(open_server_spans(home, "tools/call wait_gate")) == 3
            finally:
                gate_file.write_text("")  # the held calls end now
            return await asyncio.gather(*requests)

    responses = asyncio.run(scenario())
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert all("gate opened" in r.json()["answer"] for r in responses)
    assert served.process.wait(60) == 0
    spans = spans_in(home)
    assert not [pid for pid in server_pids(spans) if alive(pid)]
    assert any(s.name == "shutdown" for s in spans)


TOKEN = "s3cr3t-serve-token-0123456789abcdef"


def test_runs_need_the_bearer_token_and_probes_do_not(home):
    served = Served(home, AGENTLOUPE_SERVE_TOKEN=TOKEN)
    run = {"input": "What is 2 + 3?"}
    try:
        served.wait_ready()  # /readyz answered without a token
        assert httpx.get(f"{served.base}/healthz").status_code == 200
        missing = httpx.post(f"{served.base}/v1/runs", json=run)
        assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = httpx.post(f"{served.base}/v1/runs", json=run, headers={"Authorization": "Bearer not-it"})
        assert wrong.status_code == 401
        right = httpx.post(f"{served.base}/v1/runs", json=run, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
        assert right.status_code == 200 and "= 5" in right.json()["answer"]
        html = home / "trace.html"
        trace = subprocess.run([sys.executable, "-m", "agentloupe", "trace", "--html", str(html)],
                               env=loupe_env(home), cwd=home, capture_output=True, text=True, timeout=60)
        assert trace.returncode == 0, trace.stderr
    finally:
        assert served.stop() == 0
    stderr = served.process.stderr.read()
    exported = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file()) + stderr.encode()
    assert TOKEN.encode() not in exported  # trace files, server logs, the HTML page, the service's own log


def test_a_token_file_is_read_like_a_mounted_secret(home):
    secret = home / "token"
    secret.write_text(TOKEN + "\n")
    served = Served(home, "--token-file", str(secret))
    try:
        served.wait_ready()
        assert httpx.post(f"{served.base}/v1/runs", json={"input": "hi"}).status_code == 401
        ok = httpx.post(f"{served.base}/v1/runs", json={"input": "What is 2 + 3?"},
                        headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
        assert ok.status_code == 200
    finally:
        assert served.stop() == 0


def test_a_non_loopback_bind_without_a_token_refuses_to_start(home):
    refused = subprocess.run([sys.executable, "-m", "agentloupe", "serve", "--host", "0.0.0.0", "--port", "0"],
                             env=loupe_env(home), cwd=home, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith("loupe: error: refusing to serve on 0.0.0.0 without a token") and "--no-auth" in line
    served = Served(home, "--host", "0.0.0.0", "--no-auth")
    try:
        served.wait_ready()  # said explicitly: it starts
    finally:
        assert served.stop() == 0


def test_a_client_that_disconnects_cancels_its_run(home, gate):
    config, _ = gate  # the gate is never opened: only a cancellation ends the call
    served = Served(home, "--config", str(config))
    served.wait_ready()

    def ended(name: str) -> list:
        return [s for s in spans_in(home) if s.name == name and not s.unfinished]  # the span's end record

    async def leave_mid_run() -> None:
        async with httpx.AsyncClient(timeout=60) as client:
            request = asyncio.create_task(client.post(f"{served.base}/v1/runs", json={"input": "call wait_gate"}))
            await asyncio.to_thread(wait_for, lambda: open_server_spans(home, "tools/call wait_gate"), "the call in flight")
            request.cancel()  # the client gives up: its connection is closed
            with pytest.raises(asyncio.CancelledError):
                await request

    try:
        asyncio.run(leave_mid_run())
        wait_for(lambda: ended("loupe serve run"), "the run span to end")
        stopping = time.time_ns()
    finally:
        assert served.stop() == 0
    # it ended while the service was still up (the test waited for that before stopping it):
    # because the client left, not by the shutdown
    [run] = ended("loupe serve run")
    assert run.end_ns < stopping
    assert run.attributes["agentloupe.cancelled"] is True
    assert any(e["name"] == "client_disconnected" for e in run.events)
    [call] = [s for s in ended("tools/call wait_gate") if s.kind == "CLIENT"]
    assert call.attributes.get("agentloupe.cancelled") is True and call.end_ns <= run.end_ns  # the run's call with it


def test_a_request_may_ask_for_a_shorter_deadline_not_a_longer_one(home, gate):
    config, _ = gate  # the gate is never opened: each run lasts until its deadline
    served = Served(home, "--config", str(config), "--timeout", "run=5")
    try:
        served.wait_ready()
        short = httpx.post(f"{served.base}/v1/runs", json={"input": "call wait_gate", "timeout_s": 1}, timeout=60)
        assert short.status_code == 504 and "deadline" in short.json()["error"]
        # more than the server's 5 s: the server's deadline still ends it (not the hour it asked for)
        long = httpx.post(f"{served.base}/v1/runs", json={"input": "call wait_gate", "timeout_s": 3600}, timeout=60)
        assert long.status_code == 504 and "deadline" in long.json()["error"]
        bad = httpx.post(f"{served.base}/v1/runs", json={"input": "hi", "timeout_s": "soon"})
        assert bad.status_code == 400
    finally:
        assert served.stop() == 0
    runs = sorted(s.attributes["agentloupe.run.timeout_s"] for s in spans_in(home) if s.name == "loupe serve run")
    assert runs == [1.0, 5.0]
