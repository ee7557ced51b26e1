"""Timing, interleaving and recording: medians over repeated runs, A/B interleaved so noise hits both."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    scenario: str
    figure: str
    median: float
    min: float
    max: float
    runs: int
    unit: str = "ms"
    note: str = ""


@dataclass
class Results:
    figures: list[Figure] = field(default_factory=list)

    def add(self, scenario: str, figure: str, samples: list[float], unit: str = "ms", note: str = "") -> Figure:
        item = Figure(scenario, figure, statistics.median(samples), min(samples), max(samples), len(samples), unit, note)
        self.figures.append(item)
        print(f"  {scenario:<28} {figure:<44} {_fmt(item.median, unit):>12}  (min {_fmt(item.min, unit)}, max {_fmt(item.max, unit)}, n={item.runs}){'  ' + note if note else ''}", flush=True)
        return item

    def ratio(self, scenario: str, figure: str, numerator: list[float], denominator: list[float], note: str = "") -> Figure:
        """Ratio of medians of two series measured side by side (interleaved) in this run."""
        value = statistics.median(numerator) / statistics.median(denominator)
        return self.add(scenario, figure, [value], unit="x", note=note)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            for item in self.figures:
                handle.write(json.dumps(asdict(item)) + "\n")


def _fmt(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:,.2f}x"
    if unit == "%":
        return f"{value:+.1f}%"
    return f"{value:,.2f} {unit}"


async def interleaved(variants: dict[str, Callable[[], Awaitable[Any]]], runs: int, warmup: int = 1) -> dict[str, list[float]]:
    """Time each variant ``runs`` times, A B A B ..., after ``warmup`` untimed rounds; ms per call."""
    for _ in range(warmup):
        for work in variants.values():
            await work()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, work in variants.items():
            started = time.perf_counter()
            await work()
            samples[name].append((time.perf_counter() - started) * 1000)
    return samples


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]
