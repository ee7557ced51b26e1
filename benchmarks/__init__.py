"""agentloupe's benchmarks: `python -m benchmarks [--quick]`. Results are written up in BENCHMARKS.md."""
