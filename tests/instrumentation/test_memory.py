import tracemalloc

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.diagnostics import memory
from agentloupe.instrumentation.spans import traced


def test_probe_records_process_wide_delta_and_top_sites(monkeypatch):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    monkeypatch.setattr("agentloupe.instrumentation.spans.trace.get_tracer", lambda *a, **k: provider.get_tracer("t"))
    probe = memory.MemoryProbe(use_tracemalloc=True, threshold_bytes=512 * 1024)
    probe.start()
    kept = []
    try:
        with traced("execute_tool grow"):
            kept.append(bytearray(2 * 1024 * 1024))  # the line to find
    finally:
        probe.stop()
    assert not tracemalloc.is_tracing()
    [span] = exporter.get_finished_spans()
    assert span.attributes[semconv.MEMORY_TRACED_DELTA] >= 2 * 1024 * 1024
    assert span.attributes[semconv.MEMORY_TRACED_PEAK] >= span.attributes[semconv.MEMORY_TRACED_DELTA]
    assert semconv.MEMORY_RSS in span.attributes
    [event] = [e for e in span.events if e.name == semconv.EVENT_TOP_ALLOCATIONS]
    assert "test_memory.py" in event.attributes["sites"][0]


def test_top_sites_leave_out_the_import_machinery_and_agentloupes_own_code(monkeypatch):
    import linecache

    import agentloupe.instrumentation.spans as own
    import agentloupe.servers.faults as bundled_app

    assert memory._ignored("<frozen importlib._bootstrap>") and memory._ignored(linecache.__file__)
    assert memory._ignored(own.__file__)  # agentloupe's machinery
    assert not memory._ignored(bundled_app.__file__) and not memory._ignored("/home/me/app/agent.py")
    monkeypatch.setenv(memory.ALL_SITES_ENV, "1")
    assert not memory._ignored(own.__file__)  # unless asked
