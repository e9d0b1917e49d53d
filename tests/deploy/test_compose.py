"""docker-compose.yml validates against the Compose Specification and holds the production stack together."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml

from tests.deploy.queries import DEPLOY, REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
COMPOSE_SPEC = REPO.parent / "shared" / "schemas" / "compose-spec.json"
DOCKERFILE = DEPLOY / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def test_compose_file_validates_against_the_compose_spec(compose: dict) -> None:
    if not COMPOSE_SPEC.is_file():
        pytest.skip(f"Compose Specification schema not found at {COMPOSE_SPEC} (only beside the team's checkout)")
    schema = json.loads(COMPOSE_SPEC.read_text())
    jsonschema.validate(compose, schema, cls=jsonschema.Draft7Validator)


def test_kafka_is_one_kraft_node_on_a_persistent_volume(compose: dict) -> None:
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    (volume,) = kafka["volumes"]
    name, path = volume.split(":")
    assert name in compose["volumes"] and path == kafka["environment"]["KAFKA_LOG_DIRS"]


def test_workers_scale_without_fixed_names_or_host_ports(compose: dict) -> None:
    worker = compose["services"]["worker"]
    assert "container_name" not in worker and "ports" not in worker
    assert worker["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    # Prometheus finds the replicas by the service name on the port the image serves /metrics on.
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())["scrape_configs"][0]
    (dns,) = scrape["dns_sd_configs"]
    assert dns["names"] == ["worker"]
    assert f"SALVO_WEB_PORT={dns['port']}" in DOCKERFILE.read_text().replace(" ", "")


def test_the_demo_replay_runs_only_in_its_profile(compose: dict) -> None:
    assert compose["services"]["demo"]["profiles"] == ["demo"]
    assert all("profiles" not in service for name, service in compose["services"].items() if name != "demo")


def test_every_mounted_file_is_in_the_repository(compose: dict) -> None:
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), source


def test_worker_image_runs_as_non_root_with_a_health_check() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.\d+-slim", text, re.M)
    assert re.search(r"^USER (?!root\b|0\b)\w+", text, re.M)
    assert re.search(r"^HEALTHCHECK .*\n.*/healthz", text, re.M)


def test_the_sources_service_polls_the_shipped_sources_file_and_is_scraped(compose: dict) -> None:
    from streams.feeds.config import Sources

    sources = compose["services"]["sources"]
    assert sources["command"][:3] == ["connect", "--sources", "/etc/salvo/sources.yaml"]
    assert "./deploy/sources.yaml:/etc/salvo/sources.yaml:ro" in sources["volumes"]
    assert "6070" in sources["healthcheck"]["test"][-1] and sources["command"][-1] == "6070"
    assert sources["environment"]["SALVO_BOOTSTRAP_SERVERS"] == "kafka:9092"  # the shared settings, merged
    assert "SALVO_ALERTS_IN_UA_TOKEN" not in compose["services"]["worker"]["environment"]
    assert Sources.load(DEPLOY / "sources.yaml").all
    scrapes = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]
    assert {"targets": ["sources:6070"]} in next(s for s in scrapes if s["job_name"] == "salvo-sources")[
        "static_configs"]
