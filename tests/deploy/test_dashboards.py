"""The Grafana provisioning and dashboards are consistent with each other and with the metrics Salvo defines."""

from __future__ import annotations

import yaml
from prometheus_client import CollectorRegistry

from alerts.delivery.metrics import DeliveryMetrics
from alerts.metrics import AlertMetrics
from streams.feeds.poll import FeedMetrics
from streams.lag import LagMetrics
from streams.metrics import PipelineMetrics
from tests.deploy.queries import DEPLOY, all_queries, dashboards

PROVISIONING = DEPLOY / "grafana" / "provisioning"

PIPELINE_PANELS = {
    "Ingest rate by feed", "Category mix", "Alerts by severity", "Delivery success", "Delivery latency p50 / p99",
    "Consumer lag", "Dead letters",
}
ACTIVITY_PANELS = {
    "Drones reported per region", "Missiles reported per region", "Attacks per region", "Talks and statements",
}


def defined_metric_names() -> set[str]:
    """Every sample name Salvo's metrics classes can export, built on one registry as a worker does."""
    registry = CollectorRegistry()
    PipelineMetrics(registry, topics={"news": "news.raw", "strikes": "strikes.raw"})
    AlertMetrics(registry)
    DeliveryMetrics(registry)
    LagMetrics(registry)
    FeedMetrics(registry)  # salvo connect's, scraped as job salvo-sources
    names = set()
    for family in registry.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    # Counters are exported with `_total`; histograms with `_bucket`, `_sum`, `_count`.
    names.update(f"{family.name}_total" for family in registry.collect() if family.type == "counter")
    return names | {"up"}


def test_both_dashboards_have_the_panels_the_ops_team_asked_for() -> None:
    boards = {board["title"]: board for board in dashboards().values()}
    assert set(boards) == {"Salvo pipeline", "Conflict activity"}
    assert PIPELINE_PANELS <= {panel["title"] for panel in boards["Salvo pipeline"]["panels"]}
    assert ACTIVITY_PANELS <= {panel["title"] for panel in boards["Conflict activity"]["panels"]}
    assert len({board["uid"] for board in boards.values()}) == 2


def test_every_panel_uses_the_provisioned_datasource() -> None:
    provisioned = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    (datasource,) = provisioned["datasources"]
    for board in dashboards().values():
        for panel in board["panels"]:
            used = [panel["datasource"]] + [target["datasource"] for target in panel["targets"]]
            assert all(ds == {"type": "prometheus", "uid": datasource["uid"]} for ds in used), panel["title"]


def test_dashboard_provider_points_where_compose_mounts_the_dashboards() -> None:
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "salvo.yml").read_text())["providers"][0]
    compose = yaml.safe_load((DEPLOY.parent / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts


def test_every_metric_a_query_reads_is_defined_by_salvo() -> None:
    defined = defined_metric_names()
    missing = {query.where: query.metrics - defined for query in all_queries() if query.metrics - defined}
    assert missing == {}
