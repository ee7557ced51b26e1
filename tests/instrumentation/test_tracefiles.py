"""Spans written by the embedded exporter read back as the same tree."""

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from agentloupe.instrumentation.tracefiles import JsonLinesSpanExporter
from agentloupe.view.traces import build_trees, latest_trace_id, read_spans


def test_round_trip(tmp_path):
    exporter = JsonLinesSpanExporter(tmp_path / "svc-123.jsonl")
    provider = TracerProvider(resource=Resource.create({"service.name": "svc"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("loupe run") as root:
        with tracer.start_as_current_span("tools/call add", kind=SpanKind.CLIENT, attributes={"n": 3, "ok": True}) as child:
            child.set_status(StatusCode.ERROR, "bad")
            child.add_event("hang", {"stack": "x"})
    provider.shutdown()

    spans = read_spans(tmp_path)
    assert len(spans) == 2
    [tree] = build_trees(spans)
    assert tree.name == "loupe run" and tree.service == "svc"
    [child_record] = tree.children
    assert child_record.kind == "CLIENT"
    assert child_record.attributes == {"n": 3, "ok": True}
    assert child_record.is_error and child_record.events[0]["name"] == "hang"
    assert tree.trace_id == format(root.get_span_context().trace_id, "032x")
    assert latest_trace_id(spans) == tree.trace_id


def test_bad_lines_are_skipped(tmp_path):
    (tmp_path / "svc-1.jsonl").write_text("not json\n{\"resourceSpans\": 3}\n")
    assert read_spans(tmp_path) == []
