"""OTLP export: the protocol from the endpoint, exporters per signal, and span delivery counted.

The exporters are imported only when an OTLP endpoint is configured (the embedded default writes
trace files and needs none of them). A signal the endpoint rejects is switched off, once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from agentloupe.instrumentation.telemetry.processenv import Protocol


class DeliveryCountingExporter(SpanExporter):
    """The real exporter, counting the spans the collector took: what ended minus this was lost."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.delivered = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        if result is SpanExportResult.SUCCESS:
            self.delivered += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class CountingBatchSpanProcessor(BatchSpanProcessor):
    """The SDK's batch processor, counting what ended, what it drops when its queue is full,
    and (through ``DeliveryCountingExporter``) what was delivered.

    The SDK drops silently (or with one warning per span): here each drop is counted
    (``agentloupe.telemetry.spans_dropped``) and reported once, at shutdown.
    """

    def __init__(self, exporter: SpanExporter, **kwargs: Any) -> None:
        self.exporter = (
            exporter if isinstance(exporter, DeliveryCountingExporter) else DeliveryCountingExporter(exporter)
        )
        super().__init__(self.exporter, **kwargs)
        self.dropped = 0
        self.ended = 0
        self._producing = threading.Lock()

    @property
    def undelivered(self) -> int:
        return max(0, self.ended - self.exporter.delivered)

    def on_end(self, span: Any) -> None:
        if not (span.context and span.context.trace_flags.sampled):
            return
        batch = getattr(self, "_batch_processor", None)
        queue, limit = getattr(batch, "_queue", None), getattr(batch, "_max_queue_size", None)
        if queue is None or not limit:  # another SDK's insides: let it count
            self.ended += 1
            super().on_end(span)
            return
        # The SDK appends to a deque bounded at ``limit``, which drops its oldest span silently
        # when full. Checking "full" and then appending raced the export thread: it could take a
        # batch in between, and a span counted as dropped was delivered after all. Here the oldest
        # span is dropped by hand, so each drop is counted once; the lock keeps producers apart,
        # and the export thread only ever makes room.
        with self._producing:
            self.ended += 1
            if len(queue) >= limit:
                try:
                    queue.pop()  # the oldest, as the deque would
                except IndexError:  # the export thread took them all meanwhile
                    pass
                else:
                    self.dropped += 1
                    from agentloupe.instrumentation.telemetry.metrics import spans_dropped

                    spans_dropped().add(1)
            super().on_end(span)


def span_exporter(endpoint: str, protocol: Protocol, timeout_s: float):
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter,
        )

        insecure = endpoint.startswith("http://")
        return OTLPSpanExporter(endpoint=endpoint, insecure=insecure, timeout=timeout_s)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

    return HttpSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces", timeout=timeout_s)


def metric_exporter(endpoint: str, protocol: Protocol, timeout_s: float):
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter,
        )

        return OTLPMetricExporter(endpoint=endpoint, insecure=endpoint.startswith("http://"), timeout=timeout_s)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter

    return HttpMetricExporter(endpoint=endpoint.rstrip("/") + "/v1/metrics", timeout=timeout_s)


switchable: dict[str, Any] = {}  # the metric and log exporters, off if the endpoint rejects their signal


def switch_off(signal: str) -> None:
    """The endpoint does not take ``signal``: its exporter answers success without sending from now on."""
    exporter = switchable.get(signal)
    if exporter is None:
        return
    if signal == "metrics":
        from opentelemetry.sdk.metrics.export import MetricExportResult

        exporter.export = lambda *args, **kwargs: MetricExportResult.SUCCESS
    else:
        from opentelemetry.sdk._logs._internal.export import LogRecordExportResult

        exporter.export = lambda *args, **kwargs: LogRecordExportResult.SUCCESS


def logger_provider(resource: Resource, endpoint: str, protocol: Protocol, timeout_s: float) -> Any:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    exporter: Any
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        exporter = OTLPLogExporter(endpoint=endpoint, insecure=endpoint.startswith("http://"), timeout=timeout_s)
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter

        exporter = HttpLogExporter(endpoint=endpoint.rstrip("/") + "/v1/logs", timeout=timeout_s)
    switchable["logs"] = exporter
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, schedule_delay_millis=500))
    return provider
