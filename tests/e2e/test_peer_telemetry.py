"""A peer's telemetry, under agentloupe, as it is without it (issue 37).

- A program with its own TracerProvider that calls an MCP tool: its own exporter sees the names
  agentloupe's trace files show (on mcp 2.x agentloupe renames the SDK's ``MCP send tools/call x``
  to ``tools/call x``: the program's exporter sees that name too), on both generations.
- FastMCP 4's own telemetry tests, from its published source distribution (the test command
  fetches it for the installed version, ``AGENTLOUPE_FASTMCP_SOURCE``): run plainly and under
  ``loupe exec``, none that passes plainly fails under agentloupe.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MCP_GENERATION, loupe_env, run_loupe, spans_in

ASSETS = Path(__file__).resolve().parents[1] / "assets"
TELEMETRY_TESTS = ["tests/telemetry", "tests/server/telemetry", "tests/client/telemetry"]


def test_a_programs_own_exporter_sees_the_names_agentloupe_shows(home):
    result = run_loupe(
        home, "exec", "--no-tree", "--", sys.executable, str(ASSETS / "own_telemetry" / "mcp_client.py"),
        str(ASSETS / "user_server.py"),
    )
    assert result.returncode == 0, result.stderr
    exported = json.loads(result.stdout.strip().splitlines()[-1])
    files = {s.span_id: s.name for s in spans_in(home) if s.span_id in exported}
    assert files == exported  # every span the program exported, under the same name, and no other
    assert "tools/call shout" in exported.values()
    assert not [name for name in exported.values() if name.startswith("MCP send")]


def _outcomes(output: str) -> dict[str, str]:
    """test id -> outcome, from pytest's ``-rA`` summary."""
    return {m.group(2): m.group(1) for m in re.finditer(r"^(PASSED|FAILED|ERROR) (\S+)", output, re.M)}


@pytest.mark.skipif(MCP_GENERATION != 2, reason="FastMCP 4's own suite: mcp 2.x")
def test_fastmcp_telemetry_suite_passes_under_loupe_exec(home):
    source = os.environ.get("AGENTLOUPE_FASTMCP_SOURCE")
    if not source or not Path(source, "tests", "telemetry").is_dir():
        pytest.fail("FastMCP's source distribution not found: run the test command from the README (it fetches it)")
    pytest_args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-rA", "-q",
                   *TELEMETRY_TESTS]
    env = loupe_env(home, FASTMCP_TEST_MODE="1")
    plain = subprocess.run(pytest_args, cwd=source, env=env, capture_output=True, text=True, timeout=600)
    traced = subprocess.run(
        [sys.executable, "-m", "agentloupe", "exec", "--no-tree", "--", *pytest_args],
        cwd=source, env=env, capture_output=True, text=True, timeout=600,
    )
    before, after = _outcomes(plain.stdout), _outcomes(traced.stdout)
    passed = {test for test, outcome in before.items() if outcome == "PASSED"}
    assert len(passed) >= 100, plain.stdout[-3000:]
    broken = sorted(test for test in passed if after.get(test) != "PASSED")
    assert not broken, f"{len(broken)} of {len(passed)} fail only under loupe exec: {broken[:10]}\n{traced.stdout[-3000:]}"
    # and agentloupe saw the suite's spans too: FastMCP's server spans are in its trace files
    assert any(s.name.startswith("tools/call") and s.kind == "SERVER" for s in spans_in(home))
