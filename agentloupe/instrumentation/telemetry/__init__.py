"""Telemetry setup and export: providers, OTLP, metrics, logs, Prometheus, trace files, what a child inherits."""
