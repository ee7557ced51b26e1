"""A program's own OpenTelemetry setup keeps working under agentloupe (issue 37): its provider
takes the global slot, its exporters get every span they would get plainly (a library's tracer got
before the setup included), agentloupe's trace files still get the whole trace, and each span is
recorded once. Real setups, offline: a plain SDK setup (traces, metrics and logs), Logfire with
``send_to_logfire=False``, Phoenix's ``register()`` to the Phoenix the tests run, Langfuse's SDK to
a local OTLP receiver; each under ``loupe exec`` and after ``agentloupe.configure()``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from agentloupe.platform.sessions.launcher import free_port
from tests.conftest import loupe_env, run_loupe, spans_in, wait_for

PROGRAM = Path(__file__).resolve().parents[1] / "assets" / "own_telemetry" / "program.py"
RECORDER = PROGRAM.with_name("otlp_recorder.py")
MINE = ("after", "cached", "child")  # what the program makes once its own setup is in place


def _run(home: Path, how: str, *args: str) -> tuple[dict, subprocess.CompletedProcess[str]]:
    if how == "exec":
        result = run_loupe(home, "exec", "--no-tree", "--", sys.executable, str(PROGRAM), *args)
    else:
        result = subprocess.run(
            [sys.executable, str(PROGRAM), *args, "--configure"],
            env=loupe_env(home), cwd=home, capture_output=True, text=True, timeout=90,
        )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result


def _recorded_once(home: Path, trace_id: str) -> Counter[str]:
    """agentloupe's trace files: every span of the program, each once, in the program's trace."""
    spans = [s for s in spans_in(home) if s.name in ("before", *MINE)]
    names = Counter(s.name for s in spans)
    assert names == Counter({"before": 1, "after": 1, "cached": 1, "child": 1}), names
    assert {s.trace_id for s in spans if s.name in MINE} == {trace_id}
    return names


@pytest.mark.parametrize("how", ["exec", "configure"])
def test_a_plain_sdk_setup_wins_and_agentloupe_rides_along(home, how):
    got, result = _run(home, how, "plain")
    assert got["provider"] == "TracerProvider"
    assert sorted(got["exported"]) == sorted(MINE)  # the library's cached tracer too
    assert set(got["exported_ids"].values()) == {got["trace_id"]}
    assert got["metrics"] == ["own.requests"]  # its own meter provider took the slot
    assert got["logs"] == ["own log line"]  # and its logger provider
    _recorded_once(home, got["trace_id"])
    spans = spans_in(home)
    if how == "exec":  # the program's spans under the `loupe exec` root, as without a setup of its own
        [root] = [s for s in spans if s.name == "loupe exec"]
        assert all(s.trace_id == root.trace_id for s in spans)
        [after] = [s for s in spans if s.name == "after"]
        assert after.parent_span_id == root.span_id
        assert after.service == "own-telemetry"  # the program's resource: its provider makes the span
    assert "Overriding of current" not in result.stderr


@pytest.mark.parametrize("how", ["exec", "configure"])
def test_logfire_without_sending_to_logfire(home, how):
    got, _ = _run(home, how, "logfire")
    assert sorted(got["exported"]) == sorted(MINE)
    _recorded_once(home, got["trace_id"])


def test_phoenix_register_sends_to_phoenix_and_the_trace_files_keep_the_trace(home, phoenix):
    got, _ = _run(home, "exec", "phoenix", "--endpoint", f"{phoenix['http']}/v1/traces")
    _recorded_once(home, got["trace_id"])
    deadline = time.monotonic() + 30
    while True:
        response = httpx.get(
            f"{phoenix['base']}/v1/projects/own-telemetry/spans", params={"trace_id": got["trace_id"]}, timeout=10
        )
        names = sorted(s["name"] for s in response.json().get("data", [])) if response.status_code == 200 else []
        if names == sorted(MINE) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert names == sorted(MINE)


@pytest.mark.parametrize("how", ["exec", "configure"])
def test_langfuse_sends_its_spans_to_its_own_endpoint(home, tmp_path, how):
    port, received = free_port(), tmp_path / "received.jsonl"
    recorder = subprocess.Popen([sys.executable, str(RECORDER), str(port), str(received)])
    try:
        wait_for(lambda: _listening(port), "the OTLP receiver")
        got, _ = _run(home, how, "langfuse", "--endpoint", f"http://127.0.0.1:{port}")
        wait_for(received.exists, "Langfuse's export")
    finally:
        recorder.terminate()
        recorder.wait(10)
    lines = [json.loads(line) for line in received.read_text().splitlines()]
    assert [(x["path"], x["name"]) for x in lines] == [("/api/public/otel/v1/traces", "langfuse-span")]
    if how == "exec":  # under the `loupe exec` root, with the program's other spans
        assert lines[0]["trace_id"] == got["trace_id"]
    assert [s.name for s in spans_in(home) if s.name == "langfuse-span"] == ["langfuse-span"]


def _listening(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_a_provider_agentloupe_cannot_ride_on_keeps_the_slot_with_one_warning(home):
    got, result = _run(home, "exec", "custom")
    assert got["provider"] == "OwnProvider"
    warnings = [line for line in result.stderr.splitlines() if "tracer_provider_not_joined" in line]
    assert len(warnings) == 1, result.stderr
    assert "OwnProvider" in warnings[0] and "takes no span processors" in warnings[0]
    assert "Traceback" not in result.stderr
