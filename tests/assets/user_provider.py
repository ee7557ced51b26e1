"""A program that configured its own TracerProvider before agentloupe.configure()."""

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)

import agentloupe  # noqa: E402
from agentloupe.instrumentation.spans import traced  # noqa: E402

agentloupe.configure(service_name="ignored-because-the-user-owns-the-provider")
with traced("mine"):
    pass
agentloupe.shutdown()
print("user exporter got:", [span.name for span in exporter.get_finished_spans()])
print("provider kept:", trace.get_tracer_provider() is provider)
