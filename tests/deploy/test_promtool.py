"""promtool and amtool accept Salvo's Prometheus config, alert rules and Alertmanager config; rule unit tests pass."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.queries import ALERTMANAGER_YML, PROMETHEUS_YML, RULE_TESTS, RULES, rule_queries


def tool(name: str) -> str:
    """A Prometheus command-line tool from the Debian packages (`make system-deps`), or skip."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed: run `make system-deps` (Debian prometheus, prometheus-alertmanager)")
    return path


def run(*argv: str, cwd: Path | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_prometheus_config_is_valid_with_its_rules(tmp_path: Path) -> None:
    # The config names the rules where compose mounts them; point it at the repository copy to check both.
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.rules.yml"]
    config["rule_files"] = [str(RULES)]
    checked = tmp_path / "prometheus.yml"
    checked.write_text(yaml.safe_dump(config))
    output = run(tool("promtool"), "check", "config", str(checked))
    assert f"SUCCESS: {len(rule_queries())} rules found" in output


def test_alert_rules_are_valid() -> None:
    assert "SUCCESS" in run(tool("promtool"), "check", "rules", str(RULES))


def test_alert_rule_unit_tests_pass() -> None:
    assert "SUCCESS" in run(tool("promtool"), "test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)


def test_every_alert_has_a_unit_test() -> None:
    alerts = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]}
    tested = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    assert alerts == tested


def test_alertmanager_config_is_valid_and_routes_every_severity() -> None:
    assert "SUCCESS" in run(tool("amtool"), "check-config", str(ALERTMANAGER_YML))
    severities = {
        rule["labels"]["severity"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    }
    for severity in severities:
        routed = run(
            tool("amtool"), "config", "routes", "test", f"--config.file={ALERTMANAGER_YML}", f"severity={severity}"
        ).splitlines()[0]  # amtool adds a warning line about --alertmanager.url
        assert routed == ("oncall" if severity == "critical" else "ops")
