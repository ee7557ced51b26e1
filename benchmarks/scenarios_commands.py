"""What a developer waits for: whole commands as processes, interleaved with the floor.

Each figure is a median over runs taken A B C ... A B C in one loop, with wall time, CPU time
(user + system of the process and its children) and peak RSS of the process tree's largest
member. Every child writes its trace files under a scratch AGENTLOUPE_HOME.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.fixtures import PYTHON
from benchmarks.harness import Results

FLOOR = str(Path(__file__).with_name("floor.py"))
SHORT_GRAPH = str(Path(__file__).with_name("short_graph.py"))
OTEL_INSTRUMENT = str(Path(PYTHON).with_name("opentelemetry-instrument"))
QUESTION = "What is 25 + 37, the 12th Fibonacci number, and the weather in Tokyo?"
COMMANDS: dict[str, list[str]] = {
    "floor (plain FastMCP + mcp client, one call)": [PYTHON, FLOOR],
    "loupe call math.add": [PYTHON, "-m", "agentloupe", "call", "--no-tree", "math.add", '{"a": 2, "b": 3}'],
    "loupe run (README question)": [PYTHON, "-m", "agentloupe", "run", "--no-tree", QUESTION],
    "loupe --help": [PYTHON, "-m", "agentloupe", "--help"],
    "loupe run --bad-flag": [PYTHON, "-m", "agentloupe", "run", "--bad-flag", "x"],
    # zero-code: what `loupe exec` adds, beside what `opentelemetry-instrument` adds with OpenLLMetry's
    # LangChain instrumentation (its SDK set up by opentelemetry-distro, spans to the console)
    "python -c pass": [PYTHON, "-c", "pass"],
    "loupe exec -- python -c pass": [PYTHON, "-m", "agentloupe", "exec", "--no-tree", "--", PYTHON, "-c", "pass"],
    "short graph": [PYTHON, SHORT_GRAPH],
    "short graph under loupe exec": [PYTHON, "-m", "agentloupe", "exec", "--no-tree", "--", PYTHON, SHORT_GRAPH],
    "short graph under opentelemetry-instrument": [OTEL_INSTRUMENT, PYTHON, SHORT_GRAPH],
}
#: Environment of a command beyond the scratch AGENTLOUPE_HOME (no OTEL_* is inherited).
PEER_ENV = {
    "OTEL_TRACES_EXPORTER": "console",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
    "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "httpx,mcp",  # OpenLLMetry's LangChain instrumentation only
}


def timed(argv: list[str], extra_env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Wall ms, CPU s (process + children), peak RSS MiB of one run of ``argv``. Python's default
    bytecode caching unless ``extra_env`` says otherwise."""
    home = tempfile.mkdtemp(prefix="agentloupe-bench-cmd-")
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "AGENTLOUPE_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["AGENTLOUPE_HOME"] = home
    env.update(extra_env or {})
    if argv[0] == OTEL_INSTRUMENT:
        env.update(PEER_ENV)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, usage.ru_maxrss / 1024


def commands(results: Results, runs: int) -> None:
    samples: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": [], "rss": []} for name in COMMANDS}
    for argv in COMMANDS.values():  # warm the file cache, untimed
        timed(argv)
    for _ in range(runs):
        for name, argv in COMMANDS.items():
            wall, cpu, rss = timed(argv)
            samples[name]["wall"].append(wall)
            samples[name]["cpu"].append(cpu)
            samples[name]["rss"].append(rss)
    for name, series in samples.items():
        results.add("commands", f"{name}: wall", series["wall"])
        results.add("commands", f"{name}: CPU", series["cpu"], unit="s")
        results.add("commands", f"{name}: peak RSS", series["rss"], unit="MiB")
    floor = samples["floor (plain FastMCP + mcp client, one call)"]["wall"]
    for name, target in (("loupe call math.add", 1.3), ("loupe run (README question)", 1.35)):
        results.ratio("commands", f"{name} / floor", samples[name]["wall"], floor, note=f"target <= {target}x")
    for name in ("loupe --help", "loupe run --bad-flag"):
        median = statistics.median(samples[name]["wall"])
        results.add("commands", f"{name}: under 300 ms?", [median], note="target < 300 ms")
    wall = {name: statistics.median(series["wall"]) for name, series in samples.items()}
    exec_added = wall["loupe exec -- python -c pass"] - wall["python -c pass"]
    results.add("commands", "loupe exec -- python -c pass: added", [exec_added], note="target <= 250 ms")
    ours = wall["short graph under loupe exec"] - wall["short graph"]
    peer = wall["short graph under opentelemetry-instrument"] - wall["short graph"]
    results.add("commands", "short graph: added by loupe exec", [ours])
    results.add("commands", "short graph: added by opentelemetry-instrument", [peer])
    results.add("commands", "short graph: loupe exec's addition / the peer's", [ours / peer], unit="x", note="target <= 1")
