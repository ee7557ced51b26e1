import tracemalloc

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentloupe.instrumentation import memory, semconv
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
