"""The metric instruments agentloupe emits, created on first use from agentloupe's meter provider
(else the global one).

Names and units follow the OpenTelemetry GenAI and MCP conventions; the
``agentloupe.*`` ones are ours. Created lazily so that a meter provider
configured after import is the one used; a program that sets its own meter provider later takes
the global slot (``providers.py``), and agentloupe's instruments stay with agentloupe's readers.
"""

from __future__ import annotations

from functools import cache

from opentelemetry import metrics

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.telemetry import providers

# Buckets for sub-second operations: the SDK's defaults start at 5 (seconds,
# here), which would put every MCP call in the first bucket.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


MeterProvider = metrics.MeterProvider


def _meter(meter_provider: MeterProvider | None = None) -> metrics.Meter:
    from agentloupe._version import __version__

    return metrics.get_meter("agentloupe", __version__, meter_provider=meter_provider or providers.own_meter_provider())


@cache
def _histogram(
    name: str, unit: str, description: str, meter_provider: MeterProvider | None = None
) -> metrics.Histogram:
    return _meter(meter_provider).create_histogram(
        name, unit=unit, description=description, explicit_bucket_boundaries_advisory=DURATION_BUCKETS
    )


@cache
def _counter(name: str, unit: str, description: str, meter_provider: MeterProvider | None = None) -> metrics.Counter:
    return _meter(meter_provider).create_counter(name, unit=unit, description=description)


def gen_ai_operation_duration(meter_provider: MeterProvider | None = None) -> metrics.Histogram:
    return _histogram("gen_ai.client.operation.duration", "s", "Duration of GenAI operations", meter_provider)


@cache
def gen_ai_token_usage(meter_provider: MeterProvider | None = None) -> metrics.Histogram:
    return _meter(meter_provider).create_histogram(
        "gen_ai.client.token.usage", unit="{token}", description="Tokens used per model call"
    )


def mcp_client_operation_duration(meter_provider: MeterProvider | None = None) -> metrics.Histogram:
    return _histogram("mcp.client.operation.duration", "s", "Duration of MCP requests, client side", meter_provider)


def mcp_server_operation_duration(meter_provider: MeterProvider | None = None) -> metrics.Histogram:
    return _histogram("mcp.server.operation.duration", "s", "Duration of MCP requests, server side", meter_provider)


def mcp_client_session_duration() -> metrics.Histogram:
    return _histogram("mcp.client.session.duration", "s", "Lifetime of MCP client sessions")


def server_start_duration() -> metrics.Histogram:
    return _histogram("agentloupe.server.start.duration", "s", "Time from launch to MCP-ready")


def spans_dropped() -> metrics.Counter:
    return _counter("agentloupe.telemetry.spans_dropped", "{span}", "Spans dropped because the export queue was full")


def server_restarts() -> metrics.Counter:
    return _counter("agentloupe.server.restarts", "{restart}", "MCP servers restarted after they exited")


def breaker_transitions() -> metrics.Counter:
    return _counter("agentloupe.breaker.transitions", "{transition}", "Circuit-breaker state changes, by new state")


def tool_errors(meter_provider: MeterProvider | None = None) -> metrics.Counter:
    return _counter("agentloupe.tool.errors", "{error}", "Tool calls that ended in an error", meter_provider)


def agent_run_duration() -> metrics.Histogram:
    return _histogram("agentloupe.run.duration", "s", "Wall time of whole agent runs")


def event_loop_lag() -> metrics.Histogram:
    return _histogram("agentloupe.event_loop.lag", "s", "Delay of a heartbeat callback on the event loop")


def event_loop_blocks() -> metrics.Counter:
    return _counter("agentloupe.event_loop.blocks", "{block}", "Event-loop blocks past the threshold")


def gc_pauses() -> metrics.Histogram:
    return _histogram("agentloupe.gc.pause", "s", "Garbage-collector pauses past the loop-block threshold")


def hangs_detected() -> metrics.Counter:
    return _counter("agentloupe.hangs", "{hang}", "Operations that passed their deadline")


_gauges_registered = False


def register_process_gauges() -> None:
    """Process RSS and tracemalloc current/peak as observable gauges (read at collection time)."""
    global _gauges_registered
    if _gauges_registered:
        return
    _gauges_registered = True
    import os
    import tracemalloc

    import psutil

    process = psutil.Process(os.getpid())

    def rss(options: object):
        yield metrics.Observation(process.memory_info().rss)

    def traced(options: object):
        if tracemalloc.is_tracing():
            current, peak = tracemalloc.get_traced_memory()
            yield metrics.Observation(current, {semconv.TRACEMALLOC_STATE: "current"})
            yield metrics.Observation(peak, {semconv.TRACEMALLOC_STATE: "peak"})

    meter = _meter()
    meter.create_observable_gauge(
        "agentloupe.process.memory.rss", [rss], unit="By", description="Resident set size of the process"
    )
    meter.create_observable_gauge(
        "agentloupe.tracemalloc.memory", [traced], unit="By", description="tracemalloc traced memory (with --memory)"
    )
