"""The Grafana dashboards: valid JSON, unique panel ids, the datasource as a variable, every
query accounted for by the live-data test, generated files current."""

import copy
import json
import re
from typing import Any

import pytest
import yaml

from medinv_tools.monitoring import expressions
from medinv_tools.monitoring.dashboards import DASHBOARDS
from medinv_tools.monitoring.expressions import (
    DASHBOARDS_DIR,
    PENDING_METRICS,
    all_expressions,
    every_expr_value,
    load_dashboards,
    panel_expressions,
    substitute,
    variable_metrics,
)
from medinv_tools.paths import REPO_ROOT
from serve_app.cli import main

TITLES = {
    "API Performance Overview",
    "Model Usage Analytics",
    "Infrastructure Monitoring",
    "Business Metrics",
}
CONFIGMAPS = REPO_ROOT / "kuberay" / "components" / "monitoring" / "grafana-dashboards.yaml"


def uncovered(name: str, dashboard: dict[str, Any]) -> list[str]:
    """Queries in the JSON that the live test (which reads panel_expressions) would not run."""
    covered = {e.expr for e in panel_expressions(name, dashboard)}
    return [expr for expr in every_expr_value(dashboard) if expr not in covered]


def test_the_four_dashboards_are_committed() -> None:
    dashboards = load_dashboards()
    assert len(dashboards) == 4
    assert {d["title"].removeprefix("Medinv / ") for d in dashboards.values()} == TITLES


@pytest.mark.parametrize("name", sorted(p.name for p in DASHBOARDS_DIR.glob("*.json")))
def test_dashboard_is_valid_with_unique_panel_ids(name: str) -> None:
    dashboard = json.loads((DASHBOARDS_DIR / name).read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), f"duplicate panel ids {ids}"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], f"panel {panel['id']} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            assert 'ray_io_cluster=~"$Cluster"' in target["expr"], target["expr"]
    assert variable_metrics(dashboard) == ["ray_node_cpu_utilization"]


@pytest.mark.parametrize("name", sorted(p.name for p in DASHBOARDS_DIR.glob("*.json")))
def test_every_query_is_covered_by_the_live_test(name: str) -> None:
    dashboard = json.loads((DASHBOARDS_DIR / name).read_text())
    assert uncovered(name, dashboard) == []


def test_a_query_the_live_test_would_miss_fails_the_coverage_check() -> None:
    name, dashboard = next(iter(load_dashboards().items()))
    doctored = copy.deepcopy(dashboard)
    # A collapsed row hides its panels under the row's own "panels" key.
    doctored["panels"].append(
        {
            "id": 99,
            "type": "row",
            "title": "hidden",
            "panels": [{"id": 100, "targets": [{"refId": "A", "expr": "sum(unseen_metric)"}]}],
        }
    )
    assert uncovered(name, doctored) == ["sum(unseen_metric)"]


def test_the_live_test_runs_every_dashboard_and_every_rule() -> None:
    wheres = {e.where.split(" ")[0] for e in all_expressions()}
    assert {p.name for p in DASHBOARDS_DIR.glob("*.json")} <= wheres
    assert {"record", "alert"} <= wheres


def test_grafana_variables_are_all_known() -> None:
    for expression in all_expressions():
        assert "$" not in expression.query
    with pytest.raises(ValueError, match="unknown Grafana variable"):
        substitute("rate(x[$__interval])")


def test_pending_metrics_are_used_and_still_pending() -> None:
    used = {m for e in all_expressions() for m in e.pending}
    assert used == set(PENDING_METRICS), "a pending metric no expression uses: drop it"
    source = (REPO_ROOT / "serve_app" / "core" / "metrics.py").read_text()
    for metric in PENDING_METRICS:
        # Defined in metrics.py means it exists now: remove it from PENDING_METRICS.
        assert f'"{metric.removeprefix("ray_")}"' not in source


def test_no_expression_uses_an_unknown_medinv_metric() -> None:
    """Every ray_medinv_* name in a query is defined in metrics.py or listed as pending."""
    source = (REPO_ROOT / "serve_app" / "core" / "metrics.py").read_text()
    defined = {f"ray_{m}" for m in re.findall(r'"(medinv_[a-z_]+)"', source)}
    for expression in all_expressions():
        for name in re.findall(r"\bray_medinv_[a-z_]+", expression.query):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            assert base in defined | set(PENDING_METRICS), f"{expression.where}: {name}"


def test_generated_files_are_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitoring-render", "--check"]) == 0, capsys.readouterr().err


def test_configmaps_carry_the_sidecar_label_and_every_dashboard() -> None:
    configmaps = list(yaml.safe_load_all(CONFIGMAPS.read_text()))
    for configmap in configmaps:
        assert configmap["metadata"]["labels"] == {"grafana_dashboard": "1"}
        for text in configmap["data"].values():
            json.loads(text)
    keys = {key for c in configmaps for key in c["data"]}
    assert {d.file_name for d in DASHBOARDS} | {
        "rayServeDashboard.json",
        "rayServeDeploymentDashboard.json",
    } == keys


def test_dashboards_module_and_expressions_module_agree_on_the_directory() -> None:
    assert expressions.DASHBOARDS_DIR == REPO_ROOT / "monitoring" / "grafana" / "dashboards"
