"""The program's own providers win; agentloupe rides along on them.

OpenTelemetry's global providers can be set once. Under ``loupe exec`` (or after
``agentloupe.configure()``) agentloupe holds the slots, so a program's own
``trace.set_tracer_provider(TracerProvider())`` would be refused and its exporters would get no
span. Here that call is taken instead of refused:

- tracing: the program's provider takes the global slot; agentloupe's span processors (trace files
  or OTLP, the MCP enricher, whatever was added to agentloupe's provider) ride on it, first in
  its chain, behind a guard its ``shutdown()`` cannot stop; and every tracer already handed out
  by agentloupe's provider (a library's module-level ``get_tracer``, agentloupe's own) is pointed
  at the program's provider. One provider records each span; spans begun before stay where they
  began and end there (the ``loupe exec`` root among them).
- metrics and logs: the program's provider takes the global slot; agentloupe's own instruments
  keep agentloupe's provider (its readers, its dashboards). Metrics have no per-meter retarget in
  the SDK: meters got from agentloupe's provider before the program set its own stay on it.
- a provider agentloupe cannot ride on (a class of the program's own with no span processors)
  keeps the slot alone, with one warning saying what agentloupe could not add.

A second set after the program's first is refused as OpenTelemetry refuses it without agentloupe.
"""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

from agentloupe.instrumentation.telemetry import lazylog

log = lazylog.get_logger("agentloupe.telemetry")


class RidingProcessor(SpanProcessor):
    """agentloupe's span processors on the program's provider: what they do at a span's start and
    end, and a flush. The program's ``shutdown()`` (at its exit, before agentloupe's) leaves them
    running: agentloupe flushes and stops them itself, within its budget, after the last span."""

    def __init__(self, chain: SpanProcessor) -> None:
        self.chain = chain

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        self.chain.on_start(span, parent_context=parent_context)

    def _on_ending(self, span: Span) -> None:
        self.chain._on_ending(span)

    def on_end(self, span: ReadableSpan) -> None:
        self.chain.on_end(span)

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.chain.force_flush(timeout_millis)


_lock = threading.Lock()
_original_set: Any = None
_own: SdkTracerProvider | None = None  # agentloupe's provider, while it holds the slot
_carrier: Any = None  # the program's provider agentloupe rides on, once it set one
_original_meter_set: Any = None  # the metrics API's own setter, while agentloupe's is in its place
_own_meter: Any = None  # agentloupe's MeterProvider, if it set one


def home(provider: Any) -> Any:
    """The provider whose chain agentloupe adds a processor to, for spans made by ``provider``.

    Once agentloupe rides on the program's provider, that is agentloupe's own: its chain is on the
    program's (a processor added to the program's directly would run twice).
    """
    if _carrier is not None and provider is _carrier and _own is not None:
        return _own
    return provider


def own_meter_provider() -> Any:
    """agentloupe's MeterProvider (its instruments stay on it), or None: the global one."""
    return _own_meter


def carrier() -> Any:
    """The program's tracer provider agentloupe rides on, or None."""
    return _carrier


def take_program_providers(own: SdkTracerProvider) -> None:
    """While ``own`` holds the global slot, a program's ``set_tracer_provider`` wins (see module)."""
    global _original_set, _own
    with _lock:
        if _original_set is not None:
            return
        _own = own
        _original_set = trace._set_tracer_provider
        trace._set_tracer_provider = _set_tracer_provider


def take_program_meter_provider(own: Any) -> None:
    """While ``own`` (agentloupe's MeterProvider) holds the global slot, a program's wins it."""
    global _original_meter_set, _own_meter
    from opentelemetry.metrics import _internal as metrics_api

    with _lock:
        if _original_meter_set is not None:
            return
        _own_meter = own
        _original_meter_set = original = metrics_api._set_meter_provider

        def set_meter_provider(meter_provider: Any, log: bool) -> None:
            if meter_provider is own or metrics_api._METER_PROVIDER is not own:
                original(meter_provider, log)
                return
            # the slot is taken (by agentloupe), so the API's own setter would refuse: set it as
            # that setter does, and give the API's proxies (meters got before any set) to it too
            metrics_api._METER_PROVIDER = meter_provider
            metrics_api._PROXY_METER_PROVIDER.on_set_meter_provider(meter_provider)
            _restore_meter_setter()

        metrics_api._set_meter_provider = set_meter_provider


def _restore_meter_setter() -> None:
    global _original_meter_set
    if _original_meter_set is not None:
        from opentelemetry.metrics import _internal as metrics_api

        metrics_api._set_meter_provider = _original_meter_set
        _original_meter_set = None


def release() -> None:
    """Undo both setters (agentloupe's telemetry shut down): the API behaves as without it."""
    global _original_set, _own, _own_meter
    with _lock:
        if _original_set is not None:
            trace._set_tracer_provider = _original_set
            _original_set = None
        _own = _own_meter = None
        _restore_meter_setter()


def _set_tracer_provider(tracer_provider: Any, log: bool) -> None:
    global _original_set, _carrier
    with _lock:
        own, original = _own, _original_set
        if original is None or own is None or tracer_provider is own or trace._TRACER_PROVIDER is not own:
            if original is not None:
                original(tracer_provider, log)
            return
        # the program's first set: from here on OpenTelemetry answers a second one as it always does
        trace._set_tracer_provider = original
        _original_set = None
        if _ride(own, tracer_provider):
            _carrier = tracer_provider
        trace._TRACER_PROVIDER = tracer_provider  # the slot is set already: this is what set() would do


def _ride(own: SdkTracerProvider, program: Any) -> bool:
    chain = getattr(own, "_active_span_processor", None)
    add = getattr(program, "add_span_processor", None)
    if chain is None or add is None:
        log.warning(
            "tracer_provider_not_joined",
            provider=f"{type(program).__module__}.{type(program).__qualname__}",
            hint="it takes no span processors, so agentloupe's trace files, tree and OTLP export miss "
            "its spans; your own exporters get them. Set an SDK TracerProvider to have both",
        )
        return False
    # first in the program's chain: agentloupe's names (the MCP enricher) and a root's parent
    # (parent.py) are on a span before the program's own processors see it start
    add_first(program, RidingProcessor(chain))
    # a proxy around an SDK provider (Logfire's) makes its spans on the SDK one inside
    inner = program if isinstance(program, SdkTracerProvider) else getattr(program, "provider", None)
    if isinstance(inner, SdkTracerProvider):
        _point_tracers_at(own, inner)
    own.get_tracer = program.get_tracer  # type: ignore[method-assign]
    return True


def add_first(provider: Any, processor: SpanProcessor) -> bool:
    """``processor`` at the head of ``provider``'s chain (the SDK only appends); False: no chain."""
    multi: Any = getattr(provider, "_active_span_processor", None)
    try:
        with multi._lock:
            multi._span_processors = (processor, *multi._span_processors)
        return True
    except Exception:
        add = getattr(provider, "add_span_processor", None)
        if add is None:
            return False
        add(processor)
        return True


def _point_tracers_at(own: SdkTracerProvider, program: SdkTracerProvider) -> None:
    """Tracers handed out by ``own`` make their spans on ``program`` from now on (its sampler,
    resource, ids, limits and chain); tracers asked of ``own`` later are the program's."""
    with own._tracers_lock:
        for scope, tracer in own._tracers.items():
            tracer.sampler = program.sampler
            tracer.resource = program.resource
            tracer.span_processor = program._active_span_processor
            tracer.id_generator = program.id_generator
            tracer._span_limits = program._span_limits
            tracer._set_tracer_config(program._apply_tracer_configurator(scope))
