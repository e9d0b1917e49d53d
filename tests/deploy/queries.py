"""Every PromQL expression Salvo ships (dashboard panels and alert rules), read from the deploy/ files."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DASHBOARDS = DEPLOY / "grafana" / "dashboards"
RULES = DEPLOY / "prometheus" / "rules" / "salvo.rules.yml"
RULE_TESTS = DEPLOY / "prometheus" / "rules" / "salvo.rules.test.yml"
PROMETHEUS_YML = DEPLOY / "prometheus" / "prometheus.yml"
ALERTMANAGER_YML = DEPLOY / "alertmanager" / "alertmanager.yml"

# Grafana fills these in; a range that spans several 1s scrapes stands in when querying Prometheus directly.
_GRAFANA_VARIABLES = {"$__rate_interval": "30s", "$__interval": "30s", "$__range": "5m"}
_METRIC = re.compile(r"\b(salvo_[a-z0-9_]+|up)\b")


@dataclass(frozen=True)
class Query:
    """One expression and where it is shown: `dashboard/panel/refId` or `rule/alertname`."""

    where: str
    expr: str

    @property
    def promql(self) -> str:
        """The expression with Grafana's variables replaced, ready for Prometheus' HTTP API."""
        text = self.expr
        for variable, value in _GRAFANA_VARIABLES.items():
            text = text.replace(variable, value)
        return text

    @property
    def metrics(self) -> set[str]:
        """Metric names the expression reads (histogram suffixes kept, as Prometheus stores them)."""
        return set(_METRIC.findall(self.expr))


def dashboards() -> dict[str, dict]:
    """Dashboard JSON by file name."""
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def dashboard_queries() -> list[Query]:
    """Every panel target of every dashboard."""
    return [
        Query(f"{board['title']}/{panel['title']}/{target['refId']}", target["expr"])
        for board in dashboards().values()
        for panel in board["panels"]
        for target in panel.get("targets", [])
    ]


def rule_queries() -> list[Query]:
    """Every alerting and recording rule expression."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [
        Query(f"rule/{rule.get('alert') or rule['record']}", rule["expr"])
        for group in groups
        for rule in group["rules"]
    ]


def all_queries() -> list[Query]:
    """Dashboards first, then rules."""
    return dashboard_queries() + rule_queries()
