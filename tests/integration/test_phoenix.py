"""The same run exported over OTLP (grpc and http/protobuf) to a real Arize Phoenix.

Phoenix (the session fixture in conftest.py) runs from its own virtualenv as ``phoenix serve``,
offline; spans are read back over its REST API.
"""

from __future__ import annotations

import time

import httpx
import pytest

pytestmark = pytest.mark.phoenix  # `pytest -m "not phoenix"` skips the real-backend tests

from tests.conftest import QUESTION, run_loupe


def _spans(base: str, trace_id: str, expected: int) -> list[dict]:
    deadline = time.monotonic() + 30
    while True:
        response = httpx.get(f"{base}/v1/projects/default/spans", params={"trace_id": trace_id, "limit": 500}, timeout=10)
        response.raise_for_status()
        spans = response.json()["data"]
        if len(spans) >= expected or time.monotonic() > deadline:
            return spans
        time.sleep(0.5)


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_run_arrives_whole_in_phoenix(home, phoenix, protocol):
    endpoint = phoenix["grpc"] if protocol == "grpc" else phoenix["http"]
    result = run_loupe(
        home, "run", "--otlp", endpoint, QUESTION,
        OTEL_EXPORTER_OTLP_PROTOCOL=protocol, OTEL_METRICS_EXPORTER="none",
    )
    assert result.returncode == 0, result.stderr
    assert "= 62" in result.stdout
    trace_id = result.stderr.split("trace_id=")[1].split()[0]
    # no trace files: everything went over OTLP
    assert not list((home / "traces").glob("*.jsonl")) if (home / "traces").exists() else True
    spans = _spans(phoenix["base"], trace_id, expected=22)
    names = [s["name"] for s in spans]
    for name in ("loupe run", "start_server math", "start_server weather", "invoke_agent agentloupe",
                 "chat offline-planner", "execute_tool calculate_fibonacci", "shutdown"):
        assert name in names, names
    by_id = {s["context"]["span_id"]: s for s in spans}
    adds = [s for s in spans if s["name"] == "tools/call add"]
    assert len(adds) == 2  # the client span in the agent, the server span in the math process
    server = next(s for s in adds if s["parent_id"] in by_id and by_id[s["parent_id"]]["name"] == "tools/call add")
    client = by_id[server["parent_id"]]
    assert client["attributes"]["network.transport"] == "pipe"
    assert server["attributes"]["mcp.method.name"] == "tools/call"
    weather = [s for s in spans if s["name"] == "tools/call get_weather"]
    assert len(weather) == 2
    assert all(s["context"]["trace_id"] == trace_id for s in spans)
