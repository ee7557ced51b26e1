"""Every dashboard panel's query, run against a real Prometheus scraping a real agent workload.

Prometheus is Debian's (installed by the test command). The workload runs the bundled servers
and the fault server so that every metric a panel needs is really emitted: tool errors, hangs,
loop blocks and tracemalloc included. A panel querying a metric nobody emits gets no data and
fails here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agentloupe.platform.sessions.launcher import free_port
from tests.conftest import run_loupe

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((REPO / "dashboards").glob("*.json"))
WORKLOAD = (
    "What is 25 + 37, divide 1 by 0, the weather in Tokyo, the weather in Springfield, call block_loop with ms 400,"
    " call hang"
)
REPEAT = 8


def _panel_queries():
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                yield pytest.param(target["expr"], id=f"{path.stem}:{panel['title']}:{target['refId']}")


@pytest.fixture(scope="module")
def scraped(tmp_path_factory):
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("Debian's prometheus is not installed: run the test command from the README (it installs it)")
    home = tmp_path_factory.mktemp("prom-home")
    (home / "prometheus").mkdir()
    config = home / "prometheus.yaml"
    config.write_text(
        "global: {scrape_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: agentloupe\n"
        f"    file_sd_configs: [{{files: ['{home}/prometheus/*.json'], refresh_interval: 1s}}]\n"
    )
    port = free_port()
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={home / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        yield from _run_workload(process, home, f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(20)


def _run_workload(process, home, base):
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "prometheus exited"
        try:
            if httpx.get(f"{base}/-/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline
        time.sleep(0.2)
    servers = {
        name: {"command": sys.executable, "args": ["-m", f"agentloupe.servers.{name}"]} for name in ("math", "faults")
    }
    # one timed-out hang opens the faults server's breaker: the breaker panel has its data
    servers["faults"].update(breaker_failures=1, breaker_cooldown_s=1)
    servers["weather"] = {
        "command": sys.executable,
        "args": ["-m", "agentloupe.servers.weather", "--port", "{port}"],
        "url": "http://127.0.0.1:{port}/mcp",
    }
    (home / "mcp.json").write_text(json.dumps({"mcpServers": servers}))
    started = time.time()
    # the weather server asks which Springfield: answered (the back-channel panels' data)
    answers = [arg for _ in range(REPEAT) for arg in ("--answer", "1")]
    result = run_loupe(
        home, "run", "--config", str(home / "mcp.json"), "--memory", "--repeat", str(REPEAT), "--prometheus-port", "0",
        "--timeout", "tool=3", "--on-hang", "cancel", "--no-tree", *answers, WORKLOAD, timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert "= 62" in result.stdout and "division by zero" in result.stdout
    # (the question is sent whatever becomes of its answer: on a loaded machine the weather call can
    # pass its 3 s deadline; the back-channel panels' queries below check that the data is there)
    yield base, started, time.time()


def _has_data(base: str, expr: str, start: float, end: float) -> bool:
    expr = expr.replace("$__rate_interval", "10s").replace("$__range", "5m")
    response = httpx.get(f"{base}/api/v1/query_range", params={"query": expr, "start": start, "end": end + 5, "step": "1s"}, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success", body
    return any(series["values"] for series in body["data"]["result"])


def test_every_process_was_scraped(scraped):
    base, start, end = scraped
    jobs = httpx.get(f"{base}/api/v1/label/job/values", timeout=10).json()["data"]
    assert {"agentloupe", "agentloupe-math", "agentloupe-weather", "agentloupe-faults"} <= set(jobs)


@pytest.mark.parametrize("expr", list(_panel_queries()))
def test_panel_query_returns_data(scraped, expr):
    base, start, end = scraped
    assert _has_data(base, expr, start, end), f"no data for: {expr}"


def test_a_query_for_a_metric_nobody_emits_returns_nothing(scraped):
    base, start, end = scraped  # the check above can fail: prove it on a name the program never emits
    assert not _has_data(base, "rate(agentloupe_not_a_metric_seconds_count[10s])", start, end)
