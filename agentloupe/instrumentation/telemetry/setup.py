"""Telemetry setup and a shutdown that keeps its budget.

``configure()`` builds the resource, tracer and meter providers once per
process. With no OTLP endpoint the embedded default holds: spans go to
``$AGENTLOUPE_HOME/traces/<service>-<pid>.jsonl``. ``shutdown()`` flushes under a
hard budget: the SDK's own flush and shutdown ignore their timeouts when the
collector is down (measured 30-37 s), so they run on a helper thread that we
stop waiting for.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

from agentloupe.instrumentation import content, semconv
from agentloupe.instrumentation.telemetry import lazylog, otlp, providers
from agentloupe.instrumentation.telemetry.otlp import CountingBatchSpanProcessor
from agentloupe.instrumentation.telemetry.processenv import (
    Protocol,
    env_flag,
    resolve_endpoint,
    resolve_protocol,
    telemetry_environment,
)
from agentloupe.instrumentation.telemetry.tracefiles import FileSpanProcessor, trace_file_for

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider

# structlog and the metrics SDK are imported when used: a `loupe exec` child that neither logs
# nor exports metrics (the embedded default) starts without them.
log = lazylog.get_logger("agentloupe.telemetry")

DEFAULT_SHUTDOWN_BUDGET_S = 2.0


@dataclass
class Telemetry:
    """What ``configure()`` set up; ``shutdown()`` undoes it within budget."""

    service_name: str
    endpoint: str | None
    protocol: Protocol | None
    enabled: bool
    trace_file: Path | None
    shutdown_budget_s: float
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    prometheus: Any = None  # PrometheusEndpoint when metrics are served for scraping
    logger_provider: Any = None  # structlog events as OTLP logs, when an endpoint is set
    owns_tracer_provider: bool = True
    processors: list[SpanProcessor] = field(default_factory=list)
    instance_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    named_by_default: bool = False  # no service name was given: a later configure() may name it
    ended: int = 0  # after shutdown(), with an endpoint: spans that ended, and those the collector never got
    undelivered: int = 0
    _shut_down: bool = False

    @property
    def shut_down(self) -> bool:
        return self._shut_down

    def child_environment(self) -> dict[str, str]:
        """``OTEL_*``/``AGENTLOUPE_*`` variables a child process needs to join in."""
        return telemetry_environment(
            endpoint=self.endpoint,
            protocol=self.protocol,
            capture_content=content.capture_enabled(),
            enabled=self.enabled,
            prometheus=self.prometheus is not None,
        )


_current: Telemetry | None = None
_lock = threading.Lock()


class PresetIds(RandomIdGenerator):
    """Random ids, except for the one root span whose ids were handed out before it began.

    ``loupe exec`` starts the program before it sets up its own telemetry, and gives it the
    trace context of a ``loupe exec`` span that does not exist yet; that span takes those ids.
    """

    def __init__(self) -> None:
        self._trace_id: int | None = None
        self._span_id: int | None = None

    def preset(self, trace_id: int, span_id: int) -> None:
        self._trace_id, self._span_id = trace_id, span_id

    def generate_trace_id(self) -> int:
        preset, self._trace_id = self._trace_id, None
        return preset if preset is not None else super().generate_trace_id()

    def generate_span_id(self) -> int:
        preset, self._span_id = self._span_id, None
        return preset if preset is not None else super().generate_span_id()


_ids = PresetIds()


def preset_next_root_ids(trace_id: int, span_id: int) -> None:
    """The next root span started on agentloupe's tracer provider gets these ids."""
    _ids.preset(trace_id, span_id)


def current() -> Telemetry | None:
    return _current


def _resource(service_name: str | None, instance_id: str) -> tuple[Resource, str]:
    from agentloupe._version import __version__

    attributes: dict[str, Any] = {
        "service.version": __version__,
        "service.instance.id": instance_id,
        semconv.PROCESS_PID: os.getpid(),
    }
    if service_name:
        attributes["service.name"] = service_name
    resource = Resource.create(attributes)
    return resource, str(resource.attributes.get("service.name"))


def configure(
    *,
    service_name: str | None = None,
    default_service_name: str = "agentloupe",
    otlp_endpoint: str | None = None,
    protocol: str | None = None,
    capture_content: bool | None = None,
    shutdown_budget_s: float = DEFAULT_SHUTDOWN_BUDGET_S,
    export_timeout_s: float | None = None,
    prometheus_port: int | None = None,
) -> Telemetry:
    """Set up tracing and metrics for this process; calling it again returns the first setup.

    ``service_name`` wins over ``OTEL_SERVICE_NAME``, which wins over
    ``default_service_name``. The endpoint comes from ``otlp_endpoint`` or
    ``OTEL_EXPORTER_OTLP_ENDPOINT``; without one, spans go to a JSONL file.
    ``OTEL_SDK_DISABLED=true`` turns everything into no-ops.

    >>> import agentloupe
    >>> agentloupe.configure(service_name="my-agent")  # doctest: +SKIP
    """
    global _current
    with _lock:
        if _current is not None and not _current._shut_down:
            if service_name and _current.named_by_default and service_name != _current.service_name:
                _rename(_current, service_name)
            return _current
        # a program's stderr gets readable lines, never JSON unless asked (AGENTLOUPE_LOG_FORMAT=json);
        # loupe's own commands set this up before, by their stream
        lazylog.configure_when_imported(json=False)
        if capture_content is not None:
            content.set_capture(capture_content)
        instance_id = str(uuid.uuid4())
        named_by_default = service_name is None and not os.environ.get("OTEL_SERVICE_NAME")
        if service_name is None and not (
            os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
        ):
            service_name = default_service_name
        endpoint = resolve_endpoint(otlp_endpoint)
        if env_flag("OTEL_SDK_DISABLED"):
            _current = Telemetry(
                service_name=service_name or default_service_name,
                endpoint=endpoint,
                protocol=None,
                enabled=False,
                trace_file=None,
                shutdown_budget_s=shutdown_budget_s,
                instance_id=instance_id,
            )
            return _current

        resource, resolved_name = _resource(service_name, instance_id)
        export_timeout_s = export_timeout_s or max(shutdown_budget_s, 1.0)
        resolved_protocol: Protocol | None = None
        trace_file: Path | None = None
        processor: SpanProcessor
        if endpoint:
            resolved_protocol = resolve_protocol(endpoint, protocol)
            span_exporter = otlp.span_exporter(endpoint, resolved_protocol, export_timeout_s)
            processor = CountingBatchSpanProcessor(span_exporter, schedule_delay_millis=500)
        else:
            # Trace files: each span written as it ends (no queue a crash could lose).
            file = trace_file_for(resolved_name)
            trace_file = file.path
            processor = FileSpanProcessor(file)

        existing = trace.get_tracer_provider()
        owns = not isinstance(existing, TracerProvider)
        if isinstance(existing, TracerProvider):
            # Someone (opentelemetry-instrument, the user) configured tracing
            # first: add to their provider instead of replacing it.
            tracer_provider = existing
            tracer_provider.add_span_processor(processor)
        else:
            # shutdown_on_exit=False: the SDK's own exit hook waits 30 s when the
            # collector is down; ours (below) keeps the budget.
            tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False, id_generator=_ids)
            tracer_provider.add_span_processor(processor)
            trace.set_tracer_provider(tracer_provider)
            # a program that sets its own provider later wins the slot, and agentloupe rides on it
            providers.take_program_providers(tracer_provider)

        meter_provider = None
        readers: list[Any] = []
        metrics_wanted = os.environ.get("OTEL_METRICS_EXPORTER", "otlp").strip().lower() != "none"
        if endpoint and resolved_protocol and metrics_wanted:
            metric_exporter = otlp.metric_exporter(endpoint, resolved_protocol, export_timeout_s)
            otlp.switchable["metrics"] = metric_exporter
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

            readers.append(PeriodicExportingMetricReader(metric_exporter, export_interval_millis=5000))
        if prometheus_port is None and (port_env := os.environ.get("AGENTLOUPE_PROMETHEUS_PORT")):
            prometheus_port = int(port_env)
        prometheus = None
        if prometheus_port is not None:
            from agentloupe.instrumentation.telemetry.prometheus import (
                PrometheusEndpoint,
                metric_reader,
            )

            readers.append(metric_reader())
            prometheus = PrometheusEndpoint(prometheus_port, resolved_name)
        if readers:
            meter_provider = _meter_provider(resource, readers)

        logger_provider = None
        if endpoint and resolved_protocol and os.environ.get("OTEL_LOGS_EXPORTER", "otlp").strip().lower() != "none":
            from agentloupe.instrumentation.telemetry.logs import set_otel_logger

            logger_provider = otlp.logger_provider(resource, endpoint, resolved_protocol, export_timeout_s)
            set_otel_logger(logger_provider.get_logger("agentloupe"))

        _current = Telemetry(
            service_name=resolved_name,
            endpoint=endpoint,
            protocol=resolved_protocol,
            enabled=True,
            trace_file=trace_file,
            shutdown_budget_s=shutdown_budget_s,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            owns_tracer_provider=owns,
            processors=[processor],
            instance_id=instance_id,
            prometheus=prometheus,
            logger_provider=logger_provider,
            named_by_default=named_by_default,
        )
        atexit.register(shutdown)
        return _current


def _meter_provider(resource: Resource, readers: list[Any]) -> MeterProvider | None:
    """Ours, unless the program (or opentelemetry-instrument) set one first: then None."""
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider

    if isinstance(metrics.get_meter_provider(), MeterProvider):
        return None
    provider = MeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)
    metrics.set_meter_provider(provider)
    providers.take_program_meter_provider(provider)
    from agentloupe.instrumentation.telemetry.metrics import register_process_gauges

    register_process_gauges()
    return provider


def _rename(telemetry: Telemetry, service_name: str) -> None:
    """The program named itself after ``loupe exec`` had named it: its own name wins from here on.

    The SDK has no public way to change a provider's resource; its fork handler's
    ``_update_resource`` does exactly this (merge, then update every tracer).
    """
    provider = telemetry.tracer_provider
    update = getattr(provider, "_update_resource", None)
    # riding on the program's provider: its tracers carry the program's resource, not to be touched
    if not telemetry.owns_tracer_provider or update is None or providers.carrier() is not None:
        return
    try:
        update(Resource({"service.name": service_name}))
    except Exception:
        return
    telemetry.service_name = service_name
    telemetry.named_by_default = False


def _run_with_budget(work, budget_s: float, what: str) -> bool:
    done = threading.Event()
    failure: list[BaseException] = []

    def target() -> None:
        try:
            work()
        except BaseException as exc:
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=target, name=f"agentloupe-{what}", daemon=True).start()
    finished = done.wait(budget_s)
    if not finished:
        log.warning(
            "telemetry_flush_over_budget",
            what=what,
            budget_s=budget_s,
            hint="is the collector reachable? spans not yet sent are dropped",
        )
    elif failure:
        log.warning("telemetry_flush_failed", what=what, error=repr(failure[0]))
    return finished and not failure


def flush(budget_s: float | None = None) -> bool:
    """Push buffered spans now, waiting at most ``budget_s`` (never blocks past it)."""
    telemetry = _current
    if telemetry is None or not telemetry.enabled:
        return True
    budget = telemetry.shutdown_budget_s if budget_s is None else budget_s

    def work() -> None:
        for processor in telemetry.processors:
            processor.force_flush(int(budget * 1000))

    return _run_with_budget(work, budget, "flush")


def shutdown(budget_s: float | None = None) -> bool:
    """Flush and stop telemetry within ``budget_s`` (default: the configured budget).

    Safe to call twice; registered at exit by ``configure()``.
    """
    global _current
    telemetry = _current
    if telemetry is None or telemetry._shut_down:
        return True
    telemetry._shut_down = True
    if not telemetry.enabled:
        return True
    providers.release()
    if telemetry.prometheus is not None:
        # A short run would end before Prometheus scrapes its last figures: wait for one scrape.
        linger = float(os.environ.get("AGENTLOUPE_PROMETHEUS_LINGER", "15"))
        if linger > 0:
            telemetry.prometheus.wait_for_scrape(linger)
        telemetry.prometheus.close()
    budget = telemetry.shutdown_budget_s if budget_s is None else budget_s
    deadline = time.monotonic() + budget

    def work() -> None:
        for processor in telemetry.processors:
            processor.shutdown()
        if telemetry.logger_provider is not None:
            from agentloupe.instrumentation.telemetry.logs import set_otel_logger

            set_otel_logger(None)
            telemetry.logger_provider.shutdown()
        if telemetry.meter_provider is not None:
            telemetry.meter_provider.shutdown(timeout_millis=int(budget * 1000))
        if telemetry.owns_tracer_provider and telemetry.tracer_provider is not None:
            telemetry.tracer_provider.shutdown()

    ok = _run_with_budget(work, max(0.0, deadline - time.monotonic()), "shutdown")
    dropped = sum(getattr(p, "dropped", 0) for p in telemetry.processors)
    if dropped:
        log.warning(
            "telemetry_spans_dropped",
            dropped=dropped,
            hint="the export queue was full: the collector was slow or down during a burst",
        )
    batches = [p for p in telemetry.processors if isinstance(p, CountingBatchSpanProcessor)]
    telemetry.undelivered = sum(p.undelivered for p in batches)
    telemetry.ended = sum(p.ended for p in batches)
    if telemetry.undelivered:
        log.warning(
            "telemetry_spans_not_delivered",
            spans=telemetry.undelivered,
            of=telemetry.ended,
            endpoint=telemetry.endpoint,
            hint="the collector was down, slow or refused them: they are lost",
        )
        ok = False
    unwritten = sum(p.trace_file.failed for p in telemetry.processors if isinstance(p, FileSpanProcessor))
    if unwritten:
        log.warning(
            "trace_file_writes_failed", spans=unwritten, path=str(telemetry.trace_file), hint="is the disk full?"
        )
    return ok
