"""Commands as a user installs and runs them (issue 34): the built wheel, Python's default bytecode
caching and ``PYTHONDONTWRITEBYTECODE=1``, the editable checkout beside it; and a plain LangGraph
graph in a project with no MCP SDK, under ``loupe run --graph`` beside ``python graph.py``.

The venvs are the test command's (``scripts/test.sh``): the wheel with the mcp 1.x stack on the
first other CPython (``AGENTLOUPE_PYTHON_VENVS``), the wheel alone in a no-MCP LangGraph project
(``AGENTLOUPE_NOMCP_VENV``), the editable checkout (this interpreter). Every command of a venv is
compared with the floor run by that venv's own interpreter, interleaved in one loop.
"""

from __future__ import annotations

import os
import shutil
import statistics
from collections.abc import Callable
from pathlib import Path

from benchmarks.fixtures import PYTHON
from benchmarks.harness import Results
from benchmarks.scenarios_commands import FLOOR, QUESTION, timed

REPO = Path(__file__).resolve().parents[1]
NOMCP_GRAPH = REPO / "tests" / "assets" / "nomcp" / "graph.py"
NOMCP_TRACED = Path(__file__).with_name("nomcp_traced.py")
NO_BYTECODE = {"PYTHONDONTWRITEBYTECODE": "1"}


def _venv(variable: str, default: str) -> Path | None:
    """The first venv ``variable`` names, else the test command's own in the checkout."""
    candidates = [Path(e) for e in os.environ.get(variable, "").split(":") if e] or sorted(REPO.glob(default))
    return next((venv for venv in candidates if (venv / "bin" / "python").exists()), None)


def _no_checkout_bytecode() -> None:
    """A fresh checkout: no ``__pycache__`` under agentloupe/ (with PYTHONDONTWRITEBYTECODE=1 none
    is ever written, so each run compiles every module it imports)."""
    for cache in (REPO / "agentloupe").rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def installs(results: Results, runs: int) -> None:
    wheel, nomcp = _venv("AGENTLOUPE_PYTHON_VENVS", ".venv-py3.*"), _venv("AGENTLOUPE_NOMCP_VENV", ".venv-nomcp")
    commands: dict[str, tuple[list[str], dict[str, str], Callable[[], None] | None]] = {
        "editable: floor": ([PYTHON, FLOOR], {}, None),
        "editable: loupe run": ([PYTHON, "-m", "agentloupe", "run", "--no-tree", QUESTION], {}, None),
        "editable: loupe run, no bytecode written, fresh checkout": (
            [PYTHON, "-m", "agentloupe", "run", "--no-tree", QUESTION], NO_BYTECODE, _no_checkout_bytecode,
        ),
    }
    if wheel is not None:
        python = str(wheel / "bin" / "python")
        commands |= {
            "wheel: floor": ([python, FLOOR], {}, None),
            "wheel: loupe run": ([python, "-m", "agentloupe", "run", "--no-tree", QUESTION], {}, None),
            "wheel: loupe run, no bytecode written": (
                [python, "-m", "agentloupe", "run", "--no-tree", QUESTION], NO_BYTECODE, None,
            ),
        }
    if nomcp is not None:
        python = str(nomcp / "bin" / "python")
        graph = f"{NOMCP_GRAPH}:graph"
        commands |= {
            "no MCP: python graph.py": ([python, str(NOMCP_GRAPH), "hi"], {}, None),
            "no MCP: graph + configure() + instrument_langgraph()": ([python, str(NOMCP_TRACED), "hi"], {}, None),
            "no MCP: loupe run --graph": (
                [python, "-m", "agentloupe", "run", "--no-tree", "--graph", graph, "--input", '{"question": "hi"}'], {}, None,
            ),
        }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for argv, env, before in commands.values():  # warm the file cache and the installed bytecode, untimed
        if before:
            before()
        timed(argv, env)
    for _ in range(runs):
        for name, (argv, env, before) in commands.items():
            if before:
                before()
            samples[name].append(timed(argv, env)[0])
    _restore_bytecode()
    for name, series in samples.items():
        results.add("installs", f"{name}: wall", series)
    for side in ("editable", "wheel"):
        floor = samples.get(f"{side}: floor")
        for name in [n for n in samples if n.startswith(f"{side}: loupe run")]:
            results.ratio("installs", f"{name} / floor", samples[name], floor or [], note="target <= 1.35x")
    if nomcp is not None:
        plain = statistics.median(samples["no MCP: python graph.py"])
        tracing = statistics.median(samples["no MCP: graph + configure() + instrument_langgraph()"]) - plain
        command = statistics.median(samples["no MCP: loupe run --graph"]) - plain
        results.add("installs", "no MCP: the tracing itself, added", [tracing])
        results.add("installs", "no MCP: loupe run --graph, added", [command], note="target: no more than the tracing")


def _restore_bytecode() -> None:
    """Put the checkout's bytecode back, so later groups (and the tests) start from a warm cache."""
    import compileall

    compileall.compile_dir(str(REPO / "agentloupe"), quiet=1)
