"""Drops are counted by reading the SDK's private batch queue: fail loudly if the SDK moves it."""

from __future__ import annotations

import threading

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from agentloupe.instrumentation.telemetry.otlp import CountingBatchSpanProcessor


class _Gate(SpanExporter):
    """Holds the first export until released, so the queue behind it fills up. Keeps the names of
    the spans it was handed, and of those it took (with ``refuse_first``, it refuses the first
    batch, as a collector may)."""

    def __init__(self, refuse_first: bool = False) -> None:
        self.release = threading.Event()
        self.refuse_first = refuse_first
        self.handed: list[str] = []
        self.taken: list[str] = []

    def export(self, spans):
        self.release.wait(10)
        first = not self.handed
        self.handed += [span.name for span in spans]
        if first and self.refuse_first:
            return SpanExportResult.FAILURE
        self.taken += [span.name for span in spans]
        return SpanExportResult.SUCCESS


def test_the_private_queue_drop_counting_reads_still_exists():
    processor = BatchSpanProcessor(_Gate(), max_queue_size=3, max_export_batch_size=1)
    try:
        batch = processor._batch_processor
        assert len(batch._queue) == 0 and batch._max_queue_size == 3
    finally:
        processor._batch_processor._exporter.release.set()
        processor.shutdown()


def test_every_span_is_either_exported_or_counted_as_dropped():
    exporter = _Gate(refuse_first=True)  # a batch refused as well: it reached the exporter, it was not delivered
    processor = CountingBatchSpanProcessor(exporter, max_queue_size=2, max_export_batch_size=2, schedule_delay_millis=60_000)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    created = [f"s{i}" for i in range(50)]
    for name in created:
        tracer.start_span(name).end()
    exporter.release.set()
    provider.shutdown()
    # counted independently of agentloupe's counters, by name: what the collector really took
    assert len(set(exporter.handed)) == len(exporter.handed)  # none twice
    lost = set(created) - set(exporter.taken)
    assert processor.ended == len(created)
    assert processor.undelivered == len(lost)
    # dropped: the spans the queue never handed to the exporter (the refused ones were handed)
    never_handed = set(created) - set(exporter.handed)
    assert len(never_handed) > 40  # a burst against a queue of 2
    assert processor.dropped == len(never_handed)


class _Taker(SpanExporter):
    """Takes every batch at once: the export thread keeps emptying the queue while spans end."""

    def __init__(self) -> None:
        self.handed: list[str] = []

    def export(self, spans):
        self.handed += [span.name for span in spans]
        return SpanExportResult.SUCCESS


def test_drops_are_counted_exactly_while_the_export_thread_takes_batches():
    """Two threads end spans into a small queue that the export thread empties all the while:
    each span is either handed to the exporter or counted as dropped, never both, never neither
    (a check of "full" before the SDK's own append counted a span the export thread then took)."""
    exporter = _Taker()
    processor = CountingBatchSpanProcessor(exporter, max_queue_size=8, max_export_batch_size=4, schedule_delay_millis=1)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")

    def produce(prefix: str) -> None:
        for i in range(20_000):
            tracer.start_span(f"{prefix}{i}").end()

    producers = [threading.Thread(target=produce, args=(prefix,)) for prefix in "ab"]
    for thread in producers:
        thread.start()
    for thread in producers:
        thread.join()
    provider.shutdown()
    assert len(set(exporter.handed)) == len(exporter.handed)
    assert processor.dropped > 0 and len(exporter.handed) > 0  # both happened: the race was there to lose
    assert processor.dropped + len(exporter.handed) == processor.ended == 40_000
