"""Render benchmark results (JSON lines) as the Markdown tables of BENCHMARKS.md.

    python -m benchmarks.report benchmarks/results/latest.jsonl
"""

from __future__ import annotations

import json
import sys
from itertools import groupby
from pathlib import Path


def _value(row: dict) -> str:
    unit, median = row["unit"], row["median"]
    if unit == "x":
        return f"{median:,.2f}x"
    if unit == "%":
        return f"{median:+.1f}%"
    return f"{median:,.2f} {unit}"


def render(rows: list[dict]) -> str:
    lines: list[str] = []
    for scenario, group in groupby(rows, key=lambda r: r["scenario"]):
        lines += [f"### {scenario}", "", "| figure | median | min | max | runs | target / note |", "|---|---|---|---|---|---|"]
        for row in group:
            spread = ("", "") if row["runs"] == 1 else (_value({**row, "median": row["min"]}), _value({**row, "median": row["max"]}))
            lines.append(f"| {row['figure']} | **{_value(row)}** | {spread[0]} | {spread[1]} | {row['runs']} | {row['note']} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results/latest.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    print(render(rows))


if __name__ == "__main__":
    main()
