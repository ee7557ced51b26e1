"""The leak report: growth per run, fitted from the memory samples in a trace's spans.

``LeakTracker`` (instrumentation) records a ``memory.sample`` event per run; this
reads them back from the trace files, per process, and ranks the allocation
sites that kept growing.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.diagnostics.memory import Sample


@dataclass
class LeakReport:
    service: str
    runs: int
    slope_bytes_per_run: float
    slope_stderr: float
    growing_sites: list[dict[str, Any]] = field(default_factory=list)
    warmup_left_out: bool = False

    #: Growth per run below this is "flat": allocator noise, caches filling once.
    FLAT_BYTES_PER_RUN = 16 * 1024

    @property
    def verdict(self) -> str:
        """growing, flat, or too noisy to tell: the slope against three standard errors of the fit."""
        low = self.slope_bytes_per_run - 3 * self.slope_stderr
        high = self.slope_bytes_per_run + 3 * self.slope_stderr
        if self.runs < 3:
            return "too few runs to tell (use --repeat 5 or more)"
        if low > self.FLAT_BYTES_PER_RUN:
            return f"growing: at least {low / 1024:,.1f} KiB per run (the slope less three standard errors)"
        if high < self.FLAT_BYTES_PER_RUN:
            flat = self.FLAT_BYTES_PER_RUN // 1024
            return f"flat: under {flat} KiB per run even at the slope plus three standard errors"
        return (
            f"too noisy to tell: somewhere between {low / 1024:+,.1f} and {high / 1024:+,.1f} KiB per run"
            " (more runs narrow it)"
        )

    def render(self) -> str:
        warmup = "; run 1 left out as warm-up" if self.warmup_left_out else ""
        lines = [
            f"{self.service}: {self.slope_bytes_per_run / 1024:+,.1f} KiB per run "
            f"(± {self.slope_stderr / 1024:,.1f} KiB, least-squares over {self.runs} runs{warmup})"
        ]
        if not self.growing_sites:
            lines.append("  no allocation site grew run after run")
        for site in self.growing_sites:
            lines.append(
                f"  {site['site']}  +{site['bytes_per_run'] / 1024:,.1f} KiB per run,"
                f" grew in {site['grew_in']}/{site['intervals']} runs"
            )
        lines.append(f"  verdict: {self.verdict}")
        return "\n".join(lines)


def fit_slope(values: list[float]) -> tuple[float, float]:
    """Least-squares slope of ``values`` over their index, and its standard error."""
    n = len(values)
    if n < 2:
        return 0.0, 0.0
    xs = list(range(n))
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(values)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, values, strict=False)) / sxx
    if n < 3:
        return slope, 0.0
    residuals = sum((y - (mean_y + slope * (x - mean_x))) ** 2 for x, y in zip(xs, values, strict=False))
    return slope, (residuals / (n - 2) / sxx) ** 0.5


def rank_growing_sites(samples: list[Sample], limit: int = 5) -> list[dict[str, Any]]:
    """Sites that grew in most intervals between samples, by total growth."""
    totals: dict[str, int] = {}
    grew: dict[str, int] = {}
    for sample in samples[1:]:
        for site in sample.sites:
            totals[site["site"]] = totals.get(site["site"], 0) + site["size_bytes"]
            grew[site["site"]] = grew.get(site["site"], 0) + 1
    intervals = max(len(samples) - 1, 1)
    ranked = sorted(
        (s for s in totals if grew[s] * 2 >= intervals),
        key=lambda s: -totals[s],
    )
    return [
        {"site": s, "bytes_per_run": totals[s] / intervals, "grew_in": grew[s], "intervals": intervals}
        for s in ranked[:limit]
    ]


def build_report(service: str, samples: list[Sample]) -> LeakReport:
    use_traced = any(s.traced_bytes for s in samples)
    values = [float(s.traced_bytes if use_traced else s.rss_bytes) for s in samples]
    slope, stderr = fit_slope(values)
    return LeakReport(service, len(samples), slope, stderr, rank_growing_sites(samples))


def parse_site_text(text: str) -> dict[str, Any] | None:
    """Inverse of the event form ``file:line +N B (+k blocks)``."""
    try:
        site, rest = text.rsplit(" +", 1)
        size = int(rest.split(" B", 1)[0])
    except ValueError:
        return None
    return {"site": site, "size_bytes": size, "count": 0}


def reports_from_spans(spans: list[Any], trace_id: str) -> list[LeakReport]:
    """Leak reports per service from the ``memory.sample`` events of one trace (read from trace files)."""
    by_service: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for span in spans:
        if span.trace_id != trace_id:
            continue
        for event in span.events:
            if event["name"] == semconv.EVENT_MEMORY_SAMPLE:
                by_service.setdefault(span.service, []).append((event["time_ns"], event["attributes"]))
    reports = []
    for service, events in sorted(by_service.items()):
        events.sort(key=lambda pair: pair[0])
        samples = [
            Sample(
                index,
                int(attributes.get(semconv.MEMORY_TRACED_CURRENT, 0)),
                int(attributes.get(semconv.MEMORY_RSS, 0)),
                [site for text in attributes.get("sites", []) if (site := parse_site_text(text))],
            )
            for index, (_, attributes) in enumerate(events)
        ]
        warmup = 1 if len(samples) > 2 else 0
        report = build_report(service, samples[warmup:])
        report.warmup_left_out = bool(warmup)
        reports.append(report)
    return reports
