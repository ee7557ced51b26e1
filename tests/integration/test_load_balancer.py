"""Two weather MCP replicas behind Debian's nginx (round robin), 200 tool calls through agentloupe.

Stateless streamable HTTP: initialize, tools/list and each call may land on a different replica.
nginx runs on loopback ports with its own config and pid file, and is stopped by that pid.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from agentloupe.platform.sessions.launcher import free_port
from tests.conftest import answers, loupe_env, run_loupe, spans_in, start_bundled_http_server, wait_for, write_mcp_json

NGINX_CONF = """
worker_processes 1;
pid {pid};
error_log {home}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {home}/nginx-access.log;
    client_body_temp_path {home}/nginx-body;
    proxy_temp_path {home}/nginx-proxy;
    upstream weather {{ server 127.0.0.1:{a}; server 127.0.0.1:{b}; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://weather;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host:$server_port;  # the servers check Host (DNS-rebinding protection)
            proxy_buffering off;
        }}
    }}
}}
"""


@pytest.fixture
def balanced(home: Path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert os.path.exists(nginx), "Debian's nginx is installed by the test command"
    replicas, ports = [], []
    port, pid = free_port(), home / "nginx.pid"
    try:  # whatever fails from here, the replicas and nginx are stopped
        for name in ("weather-a", "weather-b"):
            env = loupe_env(home, OTEL_SERVICE_NAME=name, AGENTLOUPE_STATELESS_HTTP="1")
            replica, url = start_bundled_http_server("agentloupe.servers.weather", home / f"{name}.log", env)
            replicas.append(replica)
            ports.append(urlsplit(url).port)
        conf = home / "nginx.conf"
        conf.write_text(NGINX_CONF.format(pid=pid, home=home, a=ports[0], b=ports[1], port=port))
        started = subprocess.run([nginx, "-c", str(conf), "-p", str(home)], capture_output=True, text=True)
        assert started.returncode == 0, started.stderr
        wait_for(lambda: pid.exists() and answers(f"http://127.0.0.1:{port}/mcp"), "nginx")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        if pid.exists():
            os.kill(int(pid.read_text().strip()), signal.SIGQUIT)  # the nginx this test started, by its pid
        for replica in replicas:
            replica.terminate()
            replica.wait(10)


def test_200_calls_through_nginx_to_two_stateless_replicas(home, balanced):
    config = write_mcp_json(home / "mcp.json", {"weather": {"url": balanced}})
    result = run_loupe(home, "run", "--config", str(config), "--repeat", "200", "--no-tree", "weather in Paris", timeout=600)
    assert result.returncode == 0, result.stderr
    assert "Paris: " in result.stdout and "failed" not in result.stdout
    spans = spans_in(home)
    by_id = {s.span_id: s for s in spans}
    servers = [s for s in spans if s.name == "tools/call get_weather" and s.kind == "SERVER"]
    clients = [s for s in spans if s.name == "tools/call get_weather" and s.kind == "CLIENT"]
    assert len(clients) == 200 and not [c for c in clients if c.is_error]
    assert len(servers) == 200
    # each server span is the child of its own client span, whichever replica served it
    assert all(by_id[s.parent_span_id].kind == "CLIENT" and by_id[s.parent_span_id].trace_id == s.trace_id for s in servers)
    assert len({s.parent_span_id for s in servers}) == 200
    served = Counter(s.service for s in servers)
    assert set(served) == {"weather-a", "weather-b"} and min(served.values()) >= 50, served  # both took calls
