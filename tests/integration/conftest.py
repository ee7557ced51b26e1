"""Backends shared by the integration tests, started once per session."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from agentloupe.platform.sessions.launcher import free_port

REPO = Path(__file__).resolve().parents[2]


def _phoenix_binary() -> str:
    candidate = os.environ.get("AGENTLOUPE_PHOENIX") or str(REPO / ".venv-phoenix" / "bin" / "phoenix")
    if not Path(candidate).exists():
        pytest.fail(f"Arize Phoenix not found at {candidate}: run the test command from the README (it installs it)")
    return candidate


@pytest.fixture(scope="session")
def phoenix(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("phoenix")
    http_port, grpc_port = free_port(), free_port()
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(workdir),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(http_port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    log = open(workdir / "phoenix.log", "w")
    process = subprocess.Popen([_phoenix_binary(), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, (workdir / "phoenix.log").read_text()[-3000:]
            try:
                if httpx.get(f"{base}/v1/projects", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "Phoenix did not start within 180 s"
            time.sleep(0.5)
        yield {"base": base, "http": f"http://127.0.0.1:{http_port}", "grpc": f"http://127.0.0.1:{grpc_port}"}
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


