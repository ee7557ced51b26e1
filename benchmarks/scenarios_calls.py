"""A traced MCP call as users run it: both halves traced, whole programs, against the SDK's own spans.

Each variant is a process running ``call_loop.py`` (a client calling ``add`` 1000 times after 50
warm-up calls, its server in the same process or a stdio child), interleaved A B C ... A B C.
A figure is the median over runs of each run's median per call.

- plain: no OpenTelemetry SDK (the SDK's spans are non-recording);
- SDK's own spans: the program sets up a ``TracerProvider`` with a ``BatchSpanProcessor`` and an
  exporter that drops (mcp 2.x and FastMCP 4 make their own spans; mcp 1.x makes some too);
- OpenLLMetry (mcp 1.x): ``opentelemetry-instrument`` with its MCP instrumentation, spans sent by
  OTLP to a port nobody listens on (queued, the export fails off the hot path);
- loupe exec: the trace files (the default), or ``--otlp`` to that same closed port.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import tempfile
from pathlib import Path

from benchmarks.harness import Results

CALL_LOOP = str(Path(__file__).with_name("call_loop.py"))
ROOT = Path(__file__).resolve().parent.parent


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # free once closed: nobody listens there


def variants(python: str, stack: str, transport: str, calls: int) -> dict[str, tuple[list[str], dict[str, str]]]:
    """name -> (argv, extra environment)."""
    program = [python, CALL_LOOP, stack, transport, str(calls)]
    loupe = [python, "-m", "agentloupe", "exec", "--no-tree"]
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    found: dict[str, tuple[list[str], dict[str, str]]] = {
        "plain": (program, {}),
        "SDK's own spans": (program, {"CALL_LOOP_OTEL": "sdk"}),
    }
    instrument = Path(python).with_name("opentelemetry-instrument")
    if stack == "mcp1" and instrument.exists():
        found["OpenLLMetry"] = (
            [str(instrument), *program],
            {
                "OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                "OTEL_METRICS_EXPORTER": "none",
                "OTEL_LOGS_EXPORTER": "none",
                "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "httpx",
            },
        )
    found["loupe exec"] = ([*loupe, "--", *program], {})
    found["loupe exec --otlp"] = ([*loupe, "--otlp", endpoint, "--", *program], {})
    return found


def run_once(argv: list[str], extra_env: dict[str, str]) -> tuple[float, float]:
    """One program's median wall time per call and its CPU time per call, in ms."""
    home = tempfile.mkdtemp(prefix="agentloupe-bench-calls-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTLOUPE_", "CALL_LOOP_"))}
    env.update({"AGENTLOUPE_HOME": home, "PYTHONPATH": str(ROOT), **extra_env})
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    found = json.loads(lines[-1])
    return float(found["per_call_ms"]), float(found["cpu_per_call_ms"])


def measure(python: str, stack: str, transport: str, runs: int, calls: int) -> dict[str, list[float]]:
    """name -> wall ms per call, run by run; and ``<name> (CPU)`` -> CPU ms per call."""
    chosen = variants(python, stack, transport, calls)
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        for name, (argv, extra_env) in chosen.items():
            wall, cpu = run_once(argv, extra_env)
            samples.setdefault(name, []).append(wall)
            samples.setdefault(f"{name} (CPU)", []).append(cpu)
    return samples


def pythons() -> dict[str, str]:
    """Each MCP stack's interpreter: this one (mcp 1.x) and the mcp 2 venv's (``scripts/test.sh`` makes it)."""
    import sys

    found = {"mcp1": sys.executable}
    mcp2 = Path(os.environ.get("AGENTLOUPE_MCP2_VENV", ROOT / ".venv-mcp2")) / "bin" / "python"
    if mcp2.exists():
        found["mcp2"] = str(mcp2)
    else:
        print(f"  traced calls on mcp 2.x: skipped, no mcp 2 venv at {mcp2.parent.parent} (bash scripts/test.sh makes it)")
    return found


def traced_calls(results: Results, pythons: dict[str, str], runs: int, calls: int) -> None:
    """Per call, both halves traced, on each stack (``pythons``: stack -> interpreter) and transport."""
    for stack, python in pythons.items():
        for transport in ("memory", "stdio"):
            scenario = f"traced call, {stack}, {'one process' if transport == 'memory' else 'stdio'}"
            samples = measure(python, stack, transport, runs, calls)
            for name, values in samples.items():
                results.add(scenario, f"{name} per call", values)
            peer = "OpenLLMetry" if "OpenLLMetry" in samples else "SDK's own spans"
            for name in ("loupe exec", "loupe exec --otlp"):
                results.ratio(scenario, f"{name} / {peer}", samples[name], samples[peer], note="target <= 1.15x")
                results.ratio(scenario, f"{name} / {peer} (CPU)", samples[f"{name} (CPU)"], samples[f"{peer} (CPU)"])
            results.ratio(scenario, "SDK's own spans / plain", samples["SDK's own spans"], samples["plain"])


def short_loops(results: Results, runs: int, loops: int) -> None:
    """``asyncio.run`` many times: plain beside ``loupe exec`` (the watchdog and monitor per loop)."""
    import sys

    program = [sys.executable, str(Path(__file__).with_name("short_loops.py")), str(loops)]
    chosen = {"plain": program, "loupe exec": [sys.executable, "-m", "agentloupe", "exec", "--no-tree", "--", *program]}
    samples: dict[str, list[float]] = {name: [] for name in chosen}
    for _ in range(runs):
        for name, argv in chosen.items():
            home = tempfile.mkdtemp(prefix="agentloupe-bench-loops-")
            env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTLOUPE_"))}
            done = subprocess.run(argv, env={**env, "AGENTLOUPE_HOME": home}, capture_output=True, text=True, timeout=600)
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode != 0 or not lines:
                raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
            samples[name].append(float(json.loads(lines[-1])["per_loop_ms"]))
    scenario = "many short event loops"
    for name, values in samples.items():
        results.add(scenario, f"{name}: per asyncio.run", values)
    results.ratio(scenario, "loupe exec / plain", samples["loupe exec"], samples["plain"])


def summary(samples: dict[str, list[float]]) -> str:
    return ", ".join(f"{name} {statistics.median(values):.3f} ms" for name, values in samples.items())


if __name__ == "__main__":
    import sys

    python, stack, transport = sys.argv[1], sys.argv[2], sys.argv[3]
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    got = measure(python, stack, transport, runs, int(sys.argv[5]) if len(sys.argv) > 5 else 1000)
    print(summary(got))
    base = "OpenLLMetry" if "OpenLLMetry" in got else "SDK's own spans"
    for name in ("loupe exec", "loupe exec --otlp", "loupe exec (CPU)"):
        peer = base + (" (CPU)" if "CPU" in name else "")
        print(f"{name} / {peer}: {statistics.median(got[name]) / statistics.median(got[peer]):.3f}x")
