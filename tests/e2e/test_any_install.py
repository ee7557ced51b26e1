"""agentloupe installed plain (the wheel built from this checkout, no extras) into a LangGraph
project with no MCP SDK: graphs and programs are traced and nothing imports ``mcp``; the commands
whose tools are MCP servers say in one line what to install. The venv is made by scripts/test.sh
(``.venv-nomcp``, AGENTLOUPE_NOMCP_VENV)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import loupe_env, spans_in

VENV = os.environ.get("AGENTLOUPE_NOMCP_VENV")
pytestmark = pytest.mark.skipif(not VENV, reason="the no-MCP venv is made by scripts/test.sh (AGENTLOUPE_NOMCP_VENV)")
ASSETS = Path(__file__).resolve().parents[1] / "assets" / "nomcp"
REPO = Path(__file__).resolve().parents[2]
STACKS = (
    "loupe: error: no MCP SDK is installed; install one: pip install 'agentloupe[mcp1]' (mcp 1.x,"
    " langchain-mcp-adapters) or 'agentloupe[mcp2]' (mcp 2.x, FastMCP 4, langchain.mcp)"
)


def _run(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=loupe_env(home), cwd=home, capture_output=True, text=True, timeout=120)


def _bin(name: str) -> str:
    assert VENV is not None
    return str(Path(VENV) / "bin" / name)


def test_the_venv_has_no_mcp_and_agentloupe_comes_from_the_wheel(home):
    result = _run(home, _bin("python"), "-c", "import importlib.util, agentloupe; print(importlib.util.find_spec('mcp')); print(agentloupe.__file__)")
    assert result.returncode == 0, result.stderr
    spec, location = result.stdout.split()
    assert spec == "None"
    assert location.endswith("/site-packages/agentloupe/__init__.py") and location != str(REPO / "agentloupe" / "__init__.py")


def test_run_graph_traces_a_graph_and_imports_no_mcp(home):
    result = _run(home, _bin("loupe"), "run", "--graph", f"{ASSETS / 'graph.py'}:graph", "--input", '{"question": "hi"}', "--output", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"question": "hi", "answer": "HI", "mcp_imported": False}
    names = {s.name for s in spans_in(home)}
    assert {"loupe run", "answer"} <= names, names


def test_exec_traces_a_program_and_imports_no_mcp(home):
    result = _run(home, _bin("loupe"), "exec", "--", _bin("python"), str(ASSETS / "graph.py"), "hello")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0])["mcp_imported"] is False
    assert "answer" in {s.name for s in spans_in(home)}


def test_the_library_api_configures_instruments_and_watches_with_no_mcp(home):
    result = _run(home, _bin("python"), str(ASSETS / "program.py"), "hey")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"question": "hey", "answer": "HEY", "mcp_imported": False}
    spans = spans_in(home)
    assert {s.service for s in spans} == {"no-mcp-program"} and "answer" in {s.name for s in spans}


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "What is 2 + 3?"],
        ["call", "math.add", '{"a": 1, "b": 2}'],
        ["tools"],
        ["serve"],
    ],
    ids=["run", "call", "tools", "serve"],
)
def test_the_commands_whose_tools_are_mcp_servers_say_what_to_install(home, argv):
    result = _run(home, _bin("loupe"), *argv)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [STACKS]
