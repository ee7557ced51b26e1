"""The end-to-end core on every other CPython the machine has (3.12 up, pyenv's included), from
the wheel built from this checkout with the mcp 1.x stack: the README's run (the bundled servers
from the installed package), a hang under ``loupe exec``, a program's own stdio server joining its
trace (the installed bootstrap's ``sitecustomize``), and a user's graph stopped and resumed. The
venvs are made by scripts/test.sh (AGENTLOUPE_PYTHON_VENVS; it prints which Pythons it found)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import QUESTION, loupe_env, spans_in

ASSETS = Path(__file__).resolve().parents[1] / "assets"
VENVS = [Path(p) for p in os.environ.get("AGENTLOUPE_PYTHON_VENVS", "").split(os.pathsep) if p]
pytestmark = pytest.mark.skipif(
    not VENVS, reason="no CPython beyond the suite's, or not made by scripts/test.sh (AGENTLOUPE_PYTHON_VENVS)"
)


@pytest.fixture(params=VENVS, ids=[p.name.removeprefix(".venv-") for p in VENVS])
def venv(request) -> Path:
    return request.param


def _run(home: Path, venv: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    command = [str(venv / "bin" / argv[0]), *argv[1:]]
    return subprocess.run(command, env=loupe_env(home, **env), cwd=home, capture_output=True, text=True, timeout=180)


def test_the_readme_run_on_the_installed_package(home, venv):
    result = _run(home, venv, "loupe", "run", QUESTION)
    assert result.returncode == 0, result.stderr
    assert "= 62" in result.stdout and "144" in result.stdout
    spans = spans_in(home)
    assert {"start_server math", "tools/call add"} <= {s.name for s in spans}
    version = _run(home, venv, "python", "-c", "import sys, agentloupe; print(sys.version_info[:2], agentloupe.__file__)")
    assert str(venv) in version.stdout and "site-packages" in version.stdout, version.stdout


def test_a_hang_under_exec_names_the_stuck_line(home, venv):
    hang = ASSETS / "hangs" / "hang.py"
    result = _run(home, venv, "loupe", "exec", "--timeout", "run=3", "--on-hang", "cancel", "--", str(venv / "bin" / "python"), str(hang))
    assert result.returncode == 124, result.stderr
    assert f"{hang}:" in result.stderr and "wait_for_result" in result.stderr, result.stderr


def test_a_programs_own_stdio_server_joins_its_trace(home, venv):
    client, server = ASSETS / "backchannel" / "asking_client.py", ASSETS / "backchannel" / "asking_server.py"
    result = _run(home, venv, "loupe", "exec", "--no-tree", "--", str(venv / "bin" / "python"), str(client), str(server), "accept")
    assert result.returncode == 0, result.stderr
    spans = spans_in(home)
    served = [s for s in spans if s.name == "tools/call summarize" and s.kind == "SERVER"]
    assert served and len({s.trace_id for s in spans}) == 1


def test_a_graph_stopped_at_an_interrupt_is_resumed(home, venv):
    graph = f"{ASSETS / 'threads' / 'approval.py'}:graph"
    state = {"APPROVAL_STATE": str(home / "approval.pickle")}
    first = _run(home, venv, "loupe", "run", "--graph", graph, "--input", '{"request": "deploy", "decision": ""}', **state)
    assert first.returncode == 4, first.stderr
    thread = next(line for line in first.stderr.splitlines() if line.startswith("loupe: thread ")).split()[-1]
    second = _run(home, venv, "loupe", "run", "--graph", graph, "--thread", thread, "--resume", '"yes"', **state)
    assert second.returncode == 0, second.stderr
    assert '"decision": "yes"' in second.stdout
