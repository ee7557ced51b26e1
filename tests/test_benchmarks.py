"""`python -m benchmarks --quick` runs every scenario and writes what BENCHMARKS.md describes.

No wall-clock time is asserted: the machines are shared and noisy; BENCHMARKS.md has the figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.__main__ import SCENARIOS

REPO = Path(__file__).resolve().parents[1]
FIELDS = {"scenario", "figure", "median", "min", "max", "runs", "unit", "note"}


@pytest.mark.timeout(1500)  # the whole quick suite, past pytest's default 300 s; the subprocess gets 1200 s
def test_quick_run_produces_every_scenario(tmp_path):
    output = tmp_path / "results.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTLOUPE_"))}
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--output", str(output)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert rows
    for row in rows:
        assert set(row) == FIELDS
        assert row["runs"] >= 1 and row["min"] <= row["median"] <= row["max"]
    assert {row["scenario"] for row in rows} == set(SCENARIOS)
    ratios = [row for row in rows if row["unit"] == "x"]
    assert any(row["figure"] == "default / agentloupe" for row in ratios)
    # the printed table names every scenario too
    for scenario in SCENARIOS:
        assert scenario in result.stdout
