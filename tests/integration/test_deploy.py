"""The Kubernetes manifests and the Dockerfile (no cluster and no Docker engine here)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"


def _documents():
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                yield path, doc


def test_manifests_pass_kubernetes_validate_strict():
    binary = shutil.which("kubernetes-validate", path=str(Path(sys.executable).parent)) or shutil.which("kubernetes-validate")
    assert binary, "kubernetes-validate is installed by the test command"
    files = [str(p) for p in sorted(K8S.glob("*.yaml")) if p.name != "kustomization.yaml"]
    result = subprocess.run([binary, "--strict", *files], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout + result.stderr


def test_kustomization_lists_every_manifest():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_agent_deployment_has_probes_resources_and_config():
    docs = {(doc["kind"], doc["metadata"]["name"]): doc for _, doc in _documents()}
    agent = docs[("Deployment", "agentloupe")]["spec"]["template"]["spec"]["containers"][0]
    assert agent["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert agent["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"requests", "limits"} <= set(agent["resources"])
    assert agent["args"][:2] == ["loupe", "serve"] and "0.0.0.0" in agent["args"]
    assert any(e["name"] == "OTEL_EXPORTER_OTLP_ENDPOINT" for e in agent["env"])
    assert ("ConfigMap", "agentloupe-mcp") in docs and ("HorizontalPodAutoscaler", "agentloupe") in docs
    assert ("Deployment", "weather-mcp") in docs and ("Service", "weather-mcp") in docs
    assert ("Deployment", "otel-collector") in docs
    mcp_json = docs[("ConfigMap", "agentloupe-mcp")]["data"]["mcp.json"]
    assert "weather-mcp.agentloupe.svc.cluster.local:8000/mcp" in mcp_json


def test_weather_deployment_names_its_allowed_hosts():
    docs = {(doc["kind"], doc["metadata"]["name"]): doc for _, doc in _documents()}
    container = docs[("Deployment", "weather-mcp")]["spec"]["template"]["spec"]["containers"][0]
    assert "0.0.0.0" in container["args"]
    assert any(e["name"] == "AGENTLOUPE_ALLOWED_HOSTS" and "weather-mcp" in e["value"] for e in container["env"])


def test_dockerfile_installs_the_package_and_serves():
    lines = [line.strip() for line in (REPO / "Dockerfile").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0].startswith("FROM python:3.11")
    assert any(line.startswith("RUN pip install") and "." in line for line in lines)
    assert any(line.startswith("COPY agentloupe") for line in lines)
    assert any(line.startswith("USER ") and "root" not in line for line in lines)
    cmd = next(line for line in lines if line.startswith("CMD"))
    assert '"loupe", "serve"' in cmd and '"0.0.0.0"' in cmd
    assert any(line.startswith("EXPOSE 8080") for line in lines)
    for line in lines:
        if line.startswith("COPY") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), f"COPY {source}: not in the repo"


def _matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def test_every_deployment_is_selected_by_a_network_policy_and_runs_locked_down():
    docs = [doc for _, doc in _documents()]
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    for deployment in (d for d in docs if d["kind"] == "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        name = deployment["metadata"]["name"]
        assert any(_matches(p["spec"]["podSelector"], labels) for p in policies), f"{name}: no NetworkPolicy"
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False, name


def test_the_weather_server_takes_traffic_only_from_the_agent_and_tokens_come_from_the_secret():
    docs = {(d["kind"], d["metadata"]["name"]): d for _, d in _documents()}
    weather = docs[("NetworkPolicy", "weather-mcp")]["spec"]["ingress"]
    assert [rule["from"] for rule in weather] == [[{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "agentloupe"}}}]]
    env = {e["name"]: e for e in docs[("Deployment", "agentloupe")]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["AGENTLOUPE_SERVE_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "agentloupe-tokens", "key": "serve-token"}
    weather_env = {e["name"]: e for e in docs[("Deployment", "weather-mcp")]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert weather_env["AGENTLOUPE_MCP_TOKEN"]["valueFrom"]["secretKeyRef"]["key"] == "weather-token"
    assert "${env:WEATHER_TOKEN}" in docs[("ConfigMap", "agentloupe-mcp")]["data"]["mcp.json"]
    assert docs[("PodDisruptionBudget", "agentloupe")]["spec"]["minAvailable"] == 1


def test_the_replicated_http_server_runs_stateless():
    docs = {(d["kind"], d["metadata"]["name"]): d for _, d in _documents()}
    weather = docs[("Deployment", "weather-mcp")]
    env = {e["name"]: e.get("value") for e in weather["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert weather["spec"]["replicas"] > 1 and env["AGENTLOUPE_STATELESS_HTTP"] == "1"
