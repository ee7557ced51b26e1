"""A program with its own OpenTelemetry setup, made after agentloupe started (under ``loupe exec``,
or after ``agentloupe.configure()`` with ``--configure``), as a user writes it.

    python program.py SETUP [--configure] [--endpoint URL]

SETUP: ``plain`` (TracerProvider, MeterProvider, LoggerProvider with in-memory exporters),
``logfire`` (``logfire.configure(send_to_logfire=False)`` plus an in-memory exporter), ``phoenix``
(``phoenix.otel.register()`` to URL), ``langfuse`` (Langfuse's SDK to URL), ``custom`` (a
provider class of the program's own with no span processors).

A span made before the setup (``before``), one made after it with a module-level tracer got
before (``cached``) and a plain one (``after``) with a child (``child``). Prints a JSON line: the
names the program's own exporter got, its metrics and logs, and whose provider holds the slot.
"""

from __future__ import annotations

import json
import logging
import sys

from opentelemetry import metrics, trace

early = trace.get_tracer("early-library")  # a library's module-level tracer, got before any setup
setup = sys.argv[1]
endpoint = sys.argv[sys.argv.index("--endpoint") + 1] if "--endpoint" in sys.argv else None
if "--configure" in sys.argv:
    import agentloupe

    agentloupe.configure(service_name="own-telemetry")

with early.start_as_current_span("before"):
    pass

result: dict = {"setup": setup}
exporter = None
if setup in ("plain", "logfire", "custom"):
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
if setup == "plain":
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    resource = Resource.create({"service.name": "own-telemetry"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
    log_exporter = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    set_logger_provider(logger_provider)
    logging.getLogger("own").addHandler(LoggingHandler(logger_provider=logger_provider))
elif setup == "logfire":
    import logfire

    logfire.configure(
        send_to_logfire=False, console=False, service_name="own-telemetry",
        additional_span_processors=[SimpleSpanProcessor(exporter)],
    )
elif setup == "phoenix":
    from phoenix.otel import register

    provider = register(project_name="own-telemetry", endpoint=endpoint, batch=False, set_global_tracer_provider=True)
elif setup == "langfuse":
    from langfuse import Langfuse

    langfuse = Langfuse(public_key="pk-lf-local", secret_key="sk-lf-local", host=endpoint)
elif setup == "custom":

    class OwnProvider(trace.TracerProvider):
        """A program's own provider: it makes its spans its own way, no span processors."""

        def get_tracer(self, *args, **kwargs):
            return trace.NoOpTracer()

    trace.set_tracer_provider(OwnProvider())

result["provider"] = type(trace.get_tracer_provider()).__qualname__
with trace.get_tracer("own").start_as_current_span("after"):
    with early.start_as_current_span("cached"):
        with trace.get_tracer("own").start_as_current_span("child") as child:
            result["trace_id"] = format(child.get_span_context().trace_id, "032x")
if setup == "plain":
    metrics.get_meter("own").create_counter("own.requests").add(3)
    logging.getLogger("own").warning("own log line")
    result["metrics"] = sorted(
        m.name for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics for m in sm.metrics
    )
    result["logs"] = [r.log_record.body for r in log_exporter.get_finished_logs()]
if setup == "langfuse":
    with langfuse.start_as_current_observation(name="langfuse-span"):
        pass
    langfuse.flush()
if setup == "phoenix":
    provider.force_flush()
if exporter is not None:
    spans = exporter.get_finished_spans()
    result["exported"] = [s.name for s in spans]
    result["exported_ids"] = {s.name: format(s.context.trace_id, "032x") for s in spans}
print(json.dumps(result))
if "--configure" in sys.argv:
    agentloupe.shutdown()
