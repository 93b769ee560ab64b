"""The rules file: promtool accepts it, each alert fires on synthetic data, and the
PrometheusRule for Kubernetes says exactly the same."""

import subprocess

import pytest
import yaml

from medinv_tools.monitoring.expressions import RULES_FILE, alert_signal, load_rules
from medinv_tools.paths import REPO_ROOT

RULE_TESTS = RULES_FILE.with_name("rules.test.yml")
PROMETHEUS_RULE = REPO_ROOT / "kuberay" / "components" / "monitoring" / "prometheusrule.yaml"


def test_promtool_check_rules(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "check", "rules", str(RULES_FILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_make_every_alert_fire(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "test", "rules", str(RULE_TESTS)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    alerts = {r["alert"] for g in load_rules()["groups"] for r in g["rules"] if "alert" in r}
    tested = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    fired = {
        case["alertname"]
        for test in tested
        for case in test.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    assert alerts - fired == set(), "alerts no unit test makes fire"


def test_the_prometheusrule_holds_the_rules_file() -> None:
    manifest = yaml.safe_load(PROMETHEUS_RULE.read_text())
    assert manifest["kind"] == "PrometheusRule"
    assert manifest["spec"]["groups"] == load_rules()["groups"]


def test_every_alert_has_a_severity_a_summary_and_a_signal() -> None:
    for group in load_rules()["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                assert rule["labels"]["severity"] in {"critical", "warning", "info"}
                assert rule["annotations"]["summary"]
                assert alert_signal(rule["expr"])


@pytest.mark.parametrize(
    ("expr", "signal"),
    [
        ("max(x) > 0.05", "max(x)"),
        ("(sum(y) or on() vector(0)) < 1", "(sum(y) or on() vector(0))"),
    ],
)
def test_alert_signal(expr: str, signal: str) -> None:
    assert alert_signal(expr) == signal


def test_an_alert_without_a_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="signal"):
        alert_signal("absent(up)")
