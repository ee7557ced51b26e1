"""Whole runs as processes (tracing and memory overhead), tracemalloc cost, shutdown, scale."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
from pathlib import Path

import psutil

from benchmarks.fixtures import PYTHON, pool, servers
from benchmarks.harness import Results, percentile

QUESTION = "What is 25 + 37, the 12th Fibonacci number, and the weather in Tokyo?"


_shutdown_spans: list[float] = []


def _shutdown_span_ms(home: str) -> float | None:
    """The run's own `shutdown` span (servers stopped, telemetry flushed), read from its trace files."""
    from agentloupe.instrumentation.semconv import SPAN_SHUTDOWN
    from agentloupe.instrumentation.telemetry.tracefiles import traces_dir
    from agentloupe.view.traces import read_spans

    spans = [span for span in read_spans(traces_dir(Path(home))) if span.name == SPAN_SHUTDOWN]
    return spans[0].duration_ms if spans and not spans[0].unfinished else None


def _loupe(*args: str, **env: str) -> float:
    home = tempfile.mkdtemp(prefix="agentloupe-bench-run-")
    started = time.perf_counter()
    result = subprocess.run(
        [PYTHON, "-m", "agentloupe", "run", "--no-tree", *args, QUESTION],
        env={**{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTLOUPE_"))}, "AGENTLOUPE_HOME": home, **env},
        capture_output=True, text=True, cwd=home, timeout=120,
    )
    took = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        raise RuntimeError(f"loupe run failed: {result.stderr[-500:]}")
    if not env and not args and (shutdown_ms := _shutdown_span_ms(home)) is not None:
        _shutdown_spans.append(shutdown_ms)
    return took


def run_overheads(results: Results, runs: int) -> None:
    """`loupe run` wall time: full tracing vs OTEL_SDK_DISABLED, and --memory vs not (A B C interleaved)."""
    samples: dict[str, list[float]] = {"traced": [], "disabled": [], "memory": []}
    _loupe()  # warm the file cache
    for _ in range(runs):
        samples["traced"].append(_loupe())
        samples["disabled"].append(_loupe(OTEL_SDK_DISABLED="true"))
        samples["memory"].append(_loupe("--memory"))
    results.add("tracing overhead, whole run", "loupe run, full tracing", samples["traced"])
    results.add("tracing overhead, whole run", "loupe run, OTEL_SDK_DISABLED=true", samples["disabled"])
    overhead = (statistics.median(samples["traced"]) / statistics.median(samples["disabled"]) - 1) * 100
    results.add("tracing overhead, whole run", "added by tracing", [overhead], unit="%", note="target < 5%")
    if _shutdown_spans:
        note = "target <= 150 ms"
        results.add("shutdown", "loupe run: its shutdown span (servers stopped, telemetry flushed)", _shutdown_spans, note=note)
    results.add("memory-check overhead", "loupe run --memory", samples["memory"])
    results.ratio("memory-check overhead", "--memory / no --memory (whole run)", samples["memory"], samples["traced"])


def _allocate() -> None:
    data = [{"i": i, "s": str(i), "l": [i, i + 1]} for i in range(20_000)]
    del data


def tracemalloc_cost(results: Results, runs: int) -> None:
    """Allocation-heavy code with tracemalloc off, start(1), start(25), interleaved."""
    samples: dict[str, list[float]] = {"off": [], "1": [], "25": []}
    for _ in range(runs):
        for mode in samples:
            if mode != "off":
                tracemalloc.start(int(mode))
            started = time.perf_counter()
            _allocate()
            samples[mode].append((time.perf_counter() - started) * 1000)
            if mode != "off":
                tracemalloc.stop()
    results.add("memory-check overhead", "allocation-heavy loop, tracemalloc off", samples["off"])
    results.ratio("memory-check overhead", "tracemalloc.start(1) / off", samples["1"], samples["off"], note="--memory uses 1 frame")
    results.ratio("memory-check overhead", "tracemalloc.start(25) / off", samples["25"], samples["off"])


_SHUTDOWN_PROGRAM = textwrap.dedent(
    """
    import sys, time
    from agentloupe.instrumentation import configure, shutdown
    from agentloupe.instrumentation.spans import traced
    configure(service_name="bench-shutdown", otlp_endpoint=sys.argv[1], protocol="grpc", shutdown_budget_s=2.0)
    for i in range(500):
        with traced(f"span {i}"):
            pass
    started = time.perf_counter()
    shutdown()
    print((time.perf_counter() - started) * 1000)
    """
)

_SDK_DEFAULT_PROGRAM = textwrap.dedent(
    """
    import sys, time
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=sys.argv[1], insecure=True)))
    tracer = provider.get_tracer("t")
    for i in range(500):
        with tracer.start_as_current_span(f"span {i}"):
            pass
    started = time.perf_counter()
    provider.shutdown()
    print((time.perf_counter() - started) * 1000)
    """
)


def _timed_program(program: str, endpoint: str, cap_s: float) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["OTEL_METRICS_EXPORTER"] = "none"
    env["OTEL_LOGS_EXPORTER"] = "none"
    started = time.perf_counter()
    try:
        result = subprocess.run([PYTHON, "-c", program, endpoint], capture_output=True, text=True, timeout=cap_s, env=env)
        return float(result.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError):
        return (time.perf_counter() - started) * 1000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shutdown_budget(results: Results, runs: int, with_sdk_default: bool) -> None:
    """shutdown() with 500 spans: collector up (rotel), refused, and accepting but never answering."""
    from pathlib import Path

    import rotel

    port = _free_port()
    collector = subprocess.Popen(
        [str(Path(rotel.__file__).parent / "rotel-agent"), "start", "--otlp-grpc-endpoint", f"127.0.0.1:{port}",
         "--otlp-http-endpoint", f"127.0.0.1:{_free_port()}", "--exporter", "blackhole"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(128)
    refused = _free_port()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        samples: dict[str, list[float]] = {"up": [], "refused": [], "silent": []}
        for _ in range(runs):
            samples["up"].append(_timed_program(_SHUTDOWN_PROGRAM, f"http://127.0.0.1:{port}", 60))
            samples["refused"].append(_timed_program(_SHUTDOWN_PROGRAM, f"http://127.0.0.1:{refused}", 60))
            samples["silent"].append(_timed_program(_SHUTDOWN_PROGRAM, f"http://127.0.0.1:{blackhole.getsockname()[1]}", 60))
        results.add("shutdown", "collector up (rotel)", samples["up"], note="target <= 500 ms")
        results.add("shutdown", "collector down (connection refused)", samples["refused"], note="target <= 2.5 s")
        results.add("shutdown", "collector down (accepts, never answers)", samples["silent"], note="target <= 2.5 s")
        if with_sdk_default:
            default = [_timed_program(_SDK_DEFAULT_PROGRAM, f"http://127.0.0.1:{blackhole.getsockname()[1]}", 90)]
            results.add("shutdown", "OTel SDK default, collector never answers", default, note="capped at 90 s")
    finally:
        collector.terminate()
        collector.wait(10)
        blackhole.close()


async def scale(results: Results, levels: list[int]) -> None:
    """N concurrent agent runs on one set of servers (offline model): throughput, latency, RSS per run."""
    from langchain_core.messages import HumanMessage

    from agentloupe.platform.agent.graph import build_graph
    from agentloupe.platform.agent.models import load_model
    from agentloupe.platform.agent.tools import local_tools

    process = psutil.Process()
    async with pool(servers("math", "weather")) as opened:
        model, info = load_model("offline")
        graph = build_graph(model, info, local_tools() + opened.tools(), opened.tool_servers())

        async def one() -> float:
            started = time.perf_counter()
            await graph.ainvoke({"messages": [HumanMessage(QUESTION)]})
            return (time.perf_counter() - started) * 1000

        await one()
        single_throughput = None
        for level in levels:
            rss_before = process.memory_info().rss
            started = time.perf_counter()
            latencies = await asyncio.gather(*(one() for _ in range(level)))
            wall = time.perf_counter() - started
            rss_after = process.memory_info().rss
            throughput = level / wall
            single_throughput = single_throughput or throughput
            results.add("scale", f"{level} concurrent: throughput", [throughput], unit="runs/s")
            results.add("scale", f"{level} concurrent: p50 latency", [percentile(latencies, 0.5)])
            results.add("scale", f"{level} concurrent: p95 latency", [percentile(latencies, 0.95)])
            results.add("scale", f"{level} concurrent: RSS growth per run", [max(0, rss_after - rss_before) / level / 1024], unit="KiB")
            results.add("scale", f"{level} concurrent: throughput / ideal linear", [throughput / (single_throughput * level)], unit="x")
    _ = sys
