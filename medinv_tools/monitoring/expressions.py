"""Every PromQL expression the dashboards and the rules use, for the live-data test.

`PENDING_METRICS` is the explicit list of metrics that the dashboards and rules already use but
that nothing exports yet: their expressions must parse and evaluate against a real Prometheus,
but cannot return data until the issue that adds the metric is merged. The live test reports
them, and fails once one of them does return data (then it is no longer pending: remove it).
`NEEDS_GPU_METRICS` return data only on a cluster with a GPU node.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from medinv_tools.paths import REPO_ROOT

RULES_FILE = REPO_ROOT / "monitoring" / "prometheus" / "rules.yml"
DASHBOARDS_DIR = REPO_ROOT / "monitoring" / "grafana" / "dashboards"

PENDING_METRICS: dict[str, str] = {}
NEEDS_GPU_METRICS = {
    "ray_node_gpus_utilization": "exported by Ray only on nodes with a GPU",
}

# What Grafana substitutes before it sends a query, with values that suit a short test run.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$Cluster": ".*"}
_ALERT = re.compile(
    r"^(?P<signal>.+?)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<threshold>-?[0-9.]+)\s*$", re.S
)


@dataclass(frozen=True)
class Expression:
    where: str  # e.g. "medinv-api-performance.json panel 4 'Requests…' A" or "rule MedinvX"
    expr: str  # as written in the dashboard or rule
    query: str  # what to send to Prometheus (Grafana variables substituted, alert signal)

    @property
    def pending(self) -> list[str]:
        return [m for m in PENDING_METRICS if re.search(rf"\b{m}\b", self.query)]

    @property
    def needs_gpu(self) -> list[str]:
        return [m for m in NEEDS_GPU_METRICS if re.search(rf"\b{m}\b", self.query)]


def substitute(expr: str) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    if "$" in expr:
        raise ValueError(f"unknown Grafana variable in {expr!r}")
    return expr


def alert_signal(expr: str) -> str:
    """`<signal> <comparison> <number>` → signal, the part that must return data."""
    match = _ALERT.match(expr.strip())
    if match is None:
        raise ValueError(f"alert expression is not `<signal> <op> <number>`: {expr!r}")
    return match["signal"].strip()


def load_rules(path: Path = RULES_FILE) -> dict[str, Any]:
    rules: dict[str, Any] = yaml.safe_load(path.read_text())
    return rules


def rule_expressions(rules: dict[str, Any]) -> list[Expression]:
    found = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                found.append(
                    Expression(f"alert {rule['alert']}", rule["expr"], alert_signal(rule["expr"]))
                )
            else:
                found.append(Expression(f"record {rule['record']}", rule["expr"], rule["expr"]))
    return found


def load_dashboards(directory: Path = DASHBOARDS_DIR) -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))}


def panel_expressions(name: str, dashboard: dict[str, Any]) -> list[Expression]:
    found = []
    for panel in dashboard.get("panels", []):
        for target in panel.get("targets", []):
            where = f"{name} panel {panel['id']} {panel['title']!r} {target['refId']}"
            found.append(Expression(where, target["expr"], substitute(target["expr"])))
    return found


def variable_metrics(dashboard: dict[str, Any]) -> list[str]:
    """Metrics behind the dashboard's `label_values(metric, label)` variables."""
    metrics = []
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else ""
        match = re.fullmatch(r"label_values\((\w+),\s*\w+\)", query)
        if match is None:
            raise ValueError(f"variable {variable['name']}: unsupported query {query!r}")
        metrics.append(match[1])
    return metrics


def all_expressions() -> list[Expression]:
    found = rule_expressions(load_rules())
    for name, dashboard in load_dashboards().items():
        found += panel_expressions(name, dashboard)
    return found


def every_expr_value(node: Any) -> list[str]:
    """Every value of a key named `expr` anywhere in a JSON document (rows, nested panels,
    library panels…): what `panel_expressions` must account for."""
    if isinstance(node, dict):
        values = [v for k, v in node.items() if k == "expr" and isinstance(v, str)]
        return values + [e for v in node.values() for e in every_expr_value(v)]
    if isinstance(node, list):
        return [e for v in node for e in every_expr_value(v)]
    return []
