"""instrument_langgraph(): node spans are current inside nodes, providers passed in, undone exactly."""

from __future__ import annotations

import importlib
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentloupe.instrumentation import instrument_langgraph, uninstrument_langgraph

MODULES = ("langgraph._internal._runnable", "langchain_core.runnables.config")


class State(TypedDict):
    n: int


async def test_a_span_made_in_a_node_is_its_child_and_the_spans_go_to_the_given_provider():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("user")

    async def node(state: State) -> dict:
        with tracer.start_as_current_span("mine"):
            return {"n": state["n"] + 1}

    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    graph = builder.compile(name="g")
    instrument_langgraph(tracer_provider=provider)
    try:
        assert (await graph.ainvoke({"n": 1}))["n"] == 2
    finally:
        uninstrument_langgraph()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert spans["mine"].parent.span_id == spans["node"].context.span_id
    assert spans["node"].parent.span_id == spans["invoke_agent g"].context.span_id


def test_uninstrument_puts_the_original_functions_back():
    originals = [importlib.import_module(m)._set_config_context for m in MODULES]
    instrument_langgraph()
    instrument_langgraph()
    patched = [importlib.import_module(m)._set_config_context for m in MODULES]
    assert all(p.__wrapped__ is o for p, o in zip(patched, originals, strict=True))
    uninstrument_langgraph()
    assert [importlib.import_module(m)._set_config_context for m in MODULES] == originals
