"""Metrics for a Prometheus to scrape, without Docker and without a collector.

Each process (the agent on ``--prometheus-port``, each bundled server on a
free port) serves ``/metrics`` on 127.0.0.1 and registers itself in
``$AGENTLOUPE_HOME/prometheus/<service>-<pid>.json``, a file_sd target file,
so one Prometheus job with ``file_sd_configs`` finds every process of a run.
A CLI run is short: at exit the endpoint waits (bounded) for one more scrape,
so the last figures are not lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from agentloupe.instrumentation.telemetry.tracefiles import agentloupe_home


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # stdout/stderr stay clean: a stdio server speaks on stdout


class _ThreadingServer(WSGIServer):
    daemon_threads = True


class PrometheusEndpoint:
    """``/metrics`` of the global prometheus_client registry, counting scrapes."""

    def __init__(self, port: int, service: str, host: str = "127.0.0.1") -> None:
        from prometheus_client import make_wsgi_app

        metrics_app = make_wsgi_app()
        self.scrapes = 0
        self._scraped = threading.Condition()

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            result = metrics_app(environ, start_response)
            with self._scraped:
                self.scrapes += 1
                self._scraped.notify_all()
            return result

        self._server = make_server(host, port, app, server_class=_ThreadingServer, handler_class=_Quiet)
        self.port = self._server.server_port
        self.host = host
        self.target_file = agentloupe_home() / "prometheus" / f"{service}-{os.getpid()}.json"
        self._thread = threading.Thread(target=self._server.serve_forever, name="agentloupe-prometheus", daemon=True)
        self._thread.start()
        self._register(service)

    def _register(self, service: str) -> None:
        try:
            self.target_file.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.target_file.with_suffix(".tmp")
            temporary.write_text(json.dumps([{"targets": [f"{self.host}:{self.port}"], "labels": {"job": service}}]))
            temporary.replace(self.target_file)  # Prometheus never reads half a file
        except OSError:
            pass

    def wait_for_scrape(self, timeout_s: float) -> bool:
        """Block until one more scrape than now has happened, or ``timeout_s`` passes."""
        deadline = time.monotonic() + timeout_s
        with self._scraped:
            seen = self.scrapes
            while self.scrapes == seen:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._scraped.wait(remaining)
        return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.target_file.unlink(missing_ok=True)
        self._server.shutdown()
        self._server.server_close()


def metric_reader() -> Any:
    from opentelemetry.exporter.prometheus import PrometheusMetricReader

    return PrometheusMetricReader()
