"""agentloupe riding on a program's own tracer provider (telemetry/providers.py), in one process,
without the global slot: the end to end cases are in tests/integration/test_own_telemetry.py."""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentloupe.instrumentation.telemetry import providers


def _provider(name: str) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": name}), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_a_tracer_handed_out_before_records_once_on_the_programs_provider_and_reaches_both():
    own, ours = _provider("agentloupe")
    cached = own.get_tracer("a-library")
    with cached.start_as_current_span("begun before"):
        program, theirs = _provider("program")
        assert providers._ride(own, program)
    with cached.start_as_current_span("after"):
        pass
    with own.get_tracer("asked later").start_as_current_span("asked later"):
        pass
    assert [s.name for s in theirs.get_finished_spans()] == ["after", "asked later"]
    assert [s.name for s in ours.get_finished_spans()] == ["begun before", "after", "asked later"]
    [after] = [s for s in ours.get_finished_spans() if s.name == "after"]
    assert after.resource.attributes["service.name"] == "program"  # made by the program's provider


def test_the_programs_shutdown_does_not_stop_agentloupes_processors():
    own, ours = _provider("agentloupe")
    root = own.get_tracer("agentloupe").start_span("begun before, ends last")  # `loupe exec`'s, say
    program, _ = _provider("program")
    providers._ride(own, program)
    program.shutdown()  # the program's exit hook runs before agentloupe's
    with own.get_tracer("x").start_as_current_span("after the program's shutdown"):
        pass
    root.end()
    assert [s.name for s in ours.get_finished_spans()] == ["after the program's shutdown", "begun before, ends last"]


def test_agentloupes_chain_runs_first_on_the_programs_provider():
    own, _ = _provider("agentloupe")
    program, _ = _provider("program")
    providers._ride(own, program)
    first = program._active_span_processor._span_processors[0]
    assert isinstance(first, providers.RidingProcessor) and first.chain is own._active_span_processor
