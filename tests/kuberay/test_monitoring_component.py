"""The monitoring component: PodMonitors, PrometheusRule and dashboard ConfigMaps in staging
and production, the Ray dashboard wired to Grafana, Grafana's login from a Secret only."""

import copy
import re
from functools import cache
from typing import Any

import pytest
import yaml

from medinv_tools.kuberay import kustomize
from medinv_tools.kuberay.environments import environment
from medinv_tools.kuberay.monitoring_kinds import check_manifest
from medinv_tools.paths import REPO_ROOT

COMPONENT = REPO_ROOT / "kuberay" / "components" / "monitoring"
VALUES = COMPONENT / "kube-prometheus-stack.values.yaml"
PRODUCTION_VALUES = REPO_ROOT / "kuberay" / "overlays" / "production" / VALUES.name


@cache
def rendered(name: str) -> tuple[dict[str, Any], ...]:
    return tuple(kustomize.render(environment(REPO_ROOT / "kuberay", name).directory))


def of_kind(name: str, kind: str) -> list[dict[str, Any]]:
    return [m for m in rendered(name) if m["kind"] == kind]


@pytest.mark.parametrize("name", ["staging", "production"])
def test_podmonitors_for_head_and_workers_in_the_namespace(name: str) -> None:
    monitors = {m["metadata"]["name"]: m for m in of_kind(name, "PodMonitor")}
    # Production's PostgreSQL is a CloudNativePG Cluster with a PodMonitor of its own
    # (tests/kuberay/test_postgres_cluster.py).
    assert monitors.pop("medinv-db", None) is not None or name != "production"
    assert set(monitors) == {"medinv-ray-head", "medinv-ray-workers"}
    node_types = set()
    for monitor in monitors.values():
        assert monitor["metadata"]["namespace"] == "medical-inventory"
        assert monitor["metadata"]["labels"]["release"] == "prometheus"
        assert monitor["spec"]["namespaceSelector"]["matchNames"] == ["medical-inventory"]
        node_types.add(monitor["spec"]["selector"]["matchLabels"]["ray.io/node-type"])
        assert check_manifest(monitor) == []
    assert node_types == {"head", "worker"}
    [rule] = of_kind(name, "PrometheusRule")
    assert rule["metadata"]["namespace"] == "medical-inventory"
    dashboards = [
        c for c in of_kind(name, "ConfigMap") if c["metadata"]["name"].startswith("grafana-")
    ]
    assert len(dashboards) == 6
    assert all(c["metadata"]["labels"] == {"grafana_dashboard": "1"} for c in dashboards)


def test_development_has_no_prometheus_operator_objects() -> None:
    kinds = {m["kind"] for m in rendered("development")}
    assert not kinds & {"PodMonitor", "PrometheusRule"}


def test_head_ports_match_the_head_podmonitor() -> None:
    [rayservice] = of_kind("staging", "RayService")
    head = rayservice["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]
    ports = {p["name"] for p in head["containers"][0]["ports"]}
    [monitor] = [m for m in of_kind("staging", "PodMonitor") if "head" in m["metadata"]["name"]]
    assert {e["port"] for e in monitor["spec"]["podMetricsEndpoints"]} <= ports


def test_the_ray_dashboard_points_at_the_charts_grafana_and_prometheus() -> None:
    [rayservice] = of_kind("production", "RayService")
    head = rayservice["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in head["containers"][0]["env"]}
    # kube-prometheus-stack release `prometheus` in namespace `monitoring`.
    assert re.fullmatch(
        r"http://prometheus-grafana\.monitoring\.svc(:\d+)?", env["RAY_GRAFANA_HOST"]
    )
    assert re.fullmatch(
        r"http://prometheus-kube-prometheus-prometheus\.monitoring\.svc:9090",
        env["RAY_PROMETHEUS_HOST"],
    )
    assert env["RAY_GRAFANA_IFRAME_HOST"].startswith("http")


def test_grafana_login_comes_from_a_secret_and_has_no_default() -> None:
    values = yaml.safe_load(VALUES.read_text())
    admin = values["grafana"]["admin"]
    assert admin["existingSecret"] == "grafana-admin"
    text = VALUES.read_text() + PRODUCTION_VALUES.read_text()
    assert "adminPassword" not in text and "adminUser" not in text
    sidecar = values["grafana"]["sidecar"]["dashboards"]
    assert (sidecar["label"], sidecar["labelValue"]) == ("grafana_dashboard", "1")
    selector = values["prometheus"]["prometheusSpec"]["podMonitorSelector"]["matchLabels"]
    assert selector == {"release": "prometheus"}
    template = yaml.safe_load((COMPONENT / "grafana-admin.template.yaml").read_text())
    assert (template["metadata"]["name"], set(template["stringData"])) == (
        admin["existingSecret"],
        {admin["userKey"], admin["passwordKey"]},
    )
    kustomizations = "".join(p.read_text() for p in REPO_ROOT.glob("kuberay/**/kustomization.yaml"))
    assert "grafana-admin.template.yaml" not in kustomizations


def test_production_prometheus_keeps_20gi() -> None:
    values = yaml.safe_load(PRODUCTION_VALUES.read_text())
    claim = values["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"


def _head_monitor() -> dict[str, Any]:
    [monitor] = [m for m in of_kind("staging", "PodMonitor") if "head" in m["metadata"]["name"]]
    return copy.deepcopy(monitor)


def test_a_podmonitor_without_the_cluster_relabelling_is_rejected() -> None:
    monitor = _head_monitor()
    del monitor["spec"]["podMetricsEndpoints"][0]["relabelings"]
    assert any("ray_io_cluster" in p for p in check_manifest(monitor))


def test_a_podmonitor_watching_another_namespace_is_rejected() -> None:
    monitor = _head_monitor()
    monitor["spec"]["namespaceSelector"]["matchNames"] = ["default"]
    assert any("own namespace" in p for p in check_manifest(monitor))


def test_a_misspelled_field_is_rejected() -> None:
    monitor = _head_monitor()
    monitor["spec"]["podMetricsEndpoint"] = monitor["spec"].pop("podMetricsEndpoints")
    assert check_manifest(monitor)
    [rule] = of_kind("staging", "PrometheusRule")
    broken = copy.deepcopy(rule)
    broken["spec"]["groups"][0]["rules"][0]["exp"] = broken["spec"]["groups"][0]["rules"][0].pop(
        "expr"
    )
    assert check_manifest(broken)
