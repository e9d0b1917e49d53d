"""Tests of alerts/api.py on a real aiohttp server: auth, CRUD, errors, route, silences, redrive."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest

from alerts.api import openapi_document
from schemas.delivery import DeliveryStatus
from tests.alerts.api_fixtures import TOKEN, ApiWorker
from tests.alerts.conftest import SECRET, make_alert


@pytest.fixture
async def worker() -> AsyncIterator[ApiWorker]:
    running = ApiWorker()
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def api(worker: ApiWorker) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=worker.url, headers=headers) as client:
        yield client


def webhook(worker: ApiWorker, name: str = "ops", **filters) -> dict:
    return {"name": name, "target": {"type": "webhook", "url": worker.receiver.url, "secret": SECRET},
            "filters": filters}  # fmt: skip


async def test_a_token_is_required_but_the_openapi_description_is_public(worker: ApiWorker) -> None:
    async with httpx.AsyncClient(base_url=worker.url) as anonymous:
        assert (await anonymous.get("/api/subscriptions")).status_code == 401
        wrong = await anonymous.get("/api/subscriptions", headers={"Authorization": "Bearer nope"})
        assert wrong.json()["error"].startswith("missing or wrong bearer token")
        spec = (await anonymous.get("/api/openapi.json")).json()
    assert spec["openapi"] == "3.1.0" and "/api/subscriptions/{name}/test" in spec["paths"]
    assert "WebhookTarget" in spec["components"]["schemas"]
    assert spec == openapi_document()


async def test_crud_masks_secrets_and_patch_keeps_them(worker: ApiWorker, api: httpx.AsyncClient) -> None:
    created = await api.post("/api/subscriptions", json=webhook(worker, regions=["Харків"]))
    assert created.status_code == 201 and created.json()["target"]["secret"] == "****"
    assert created.json()["target"]["url"] == f"http://127.0.0.1:{worker.receiver.port}/ho…/****"
    assert created.json()["filters"]["regions"] == ["Kharkiv"]
    assert (await api.post("/api/subscriptions", json=webhook(worker))).status_code == 409
    patched = await api.patch("/api/subscriptions/ops", json={"filters": {"min_severity": "critical"}})
    assert patched.json()["filters"] == {**created.json()["filters"], "min_severity": "critical"}
    assert worker.subscriptions["ops"].target.secret.get_secret_value() == SECRET
    assert [s["name"] for s in (await api.get("/api/subscriptions")).json()] == ["ops"]
    assert (await api.delete("/api/subscriptions/ops")).status_code == 204
    assert (await api.get("/api/subscriptions/ops")).status_code == 404


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"target": {"type": "webhook", "url": "not-a-url", "secret": SECRET}},
         "target.webhook.url: Input should be a valid URL"),
        ({"filters": {"regions": ["Mordor"]}}, "unknown region 'Mordor'"),
        ({"filters": {"min_severity": "apocalyptic"}},
         "filters.min_severity: Input should be 'info', 'warning' or 'critical'"),
    ],
)  # fmt: skip
async def test_bad_subscriptions_are_refused_clearly(worker, api, change: dict, detail: str) -> None:
    response = await api.post("/api/subscriptions", json={**webhook(worker), **change})
    assert response.status_code == 400
    assert any(detail in line for line in response.json()["details"]), response.json()
    assert worker.subscriptions == {}


async def test_route_explains_and_test_sends_through_the_real_channel(worker, api) -> None:
    await api.post("/api/subscriptions", json=webhook(worker, "kharkiv", regions=["Kharkiv"]))
    await api.post("/api/subscriptions", json=webhook(worker, "lviv", regions=["Lviv"]))
    decisions = (await api.post("/api/route", json=make_alert().model_dump(mode="json"))).json()
    assert [(d["subscription"], d["deliver"]) for d in decisions] == [("kharkiv", True), ("lviv", False)]
    tested = await api.post("/api/subscriptions/kharkiv/test")
    assert tested.status_code == 200 and len(worker.receiver.received) == 1
    assert tested.json()["elapsed_ms"] >= 0
    worker.receiver.fail(500)  # answers "nope": the caller learns the status and the timing, not the body
    failed = await api.post("/api/subscriptions/kharkiv/test")
    assert failed.status_code == 502 and failed.json()["error"].endswith("post webhook: HTTP 500")
    assert "nope" not in failed.text and failed.json()["details"][1].startswith("elapsed_ms: ")


@pytest.mark.parametrize(
    ("target", "detail"),
    [
        ({"type": "webhook", "url": "http://169.254.169.254/latest/", "secret": SECRET}, "metadata service"),
        ({"type": "slack", "url": "http://[::ffff:10.0.0.1]/services/T/B/x"}, "private"),
        ({"type": "alertmanager", "url": "http://0xa9fea9fe:80"}, "metadata service"),
    ],
)
async def test_hostile_targets_are_refused_and_nothing_is_stored(worker, api, target: dict, detail: str) -> None:
    """The test worker opens loopback (its receiver's network) and nothing else, so these stay refused."""
    response = await api.post("/api/subscriptions", json={"name": "evil", "target": target})
    assert response.status_code == 400 and detail in response.json()["error"], response.json()
    assert worker.subscriptions == {}


async def test_silences_are_created_listed_and_expired(worker, api) -> None:
    await api.post("/api/subscriptions", json=webhook(worker))
    alert = make_alert().model_dump(mode="json")  # Kharkiv and Sumy
    narrow = {"matchers": ["region=Kharkiv"], "duration": "2h", "comment": "Kharkiv drill"}
    narrow_id = (await api.post("/api/silences", json=narrow)).json()["id"]
    decisions = (await api.post("/api/route", json=alert)).json()
    assert decisions[0]["verdict"] == "deliver", "a one-region silence leaves an alert over two regions alone"
    assert (await api.delete(f"/api/silences/{narrow_id}")).status_code == 200
    body = {**narrow, "comment": "air-raid drill", "spanning": True}
    silence = (await api.post("/api/silences", json=body)).json()
    assert silence["spanning"] is True
    decisions = (await api.post("/api/route", json=alert)).json()
    assert decisions[0]["verdict"] == "silenced" and "air-raid drill" in decisions[0]["reasons"][0]
    assert [s["id"] for s in (await api.get("/api/silences")).json()] == [silence["id"]]
    assert (await api.delete(f"/api/silences/{silence['id']}")).status_code == 200
    assert (await api.get("/api/silences")).json() == []
    assert len((await api.get("/api/silences", params={"all": "true"})).json()) == 2, "expired ones stay listed"
    bad = await api.post("/api/silences", json={**body, "duration": "forever"})
    assert bad.status_code == 400 and "30m, 2h" in bad.json()["error"]
    typo = await api.post("/api/silences", json={**body, "matchers": ["regoin=Kharkiv", "severity=urgent"]})
    assert typo.status_code == 400 and typo.json()["error"] == "invalid silence matchers"
    assert "did you mean 'region'?" in typo.json()["details"][0] and "critical" in typo.json()["details"][1]
    assert len((await api.get("/api/silences", params={"all": "true"})).json()) == 2, "nothing stored"


async def test_dead_deliveries_are_listed_and_redriven(worker, api) -> None:
    from datetime import UTC, datetime

    await api.post("/api/subscriptions", json=webhook(worker))
    worker.receiver.fail(400)
    (dead,) = await worker.deliverer.submit(make_alert(), now=datetime.now(UTC))
    assert dead.status is DeliveryStatus.DEAD
    (row,) = (await api.get("/api/deliveries", params={"state": "dead"})).json()
    assert row["key"] == dead.outbox_key and row["reason"] == "client"
    redriven = await api.post(f"/api/deliveries/{quote(row['key'], safe='')}/redrive")
    assert redriven.status_code == 202
    assert worker.log[-1].status is DeliveryStatus.DELIVERED
    assert (await api.post("/api/deliveries/nope/redrive")).status_code == 404


async def test_a_signed_incident_link_opens_that_incident_read_only_without_the_token(worker: ApiWorker) -> None:
    """The link a Slack message carries (signed with the API token) opens on a phone, which sends no token."""
    from pydantic import SecretStr

    from alerts.channels import ChannelsConfig
    from alerts.present import DeskConfig

    alert, other = make_alert(), make_alert(id="talks-news-0123456789abcdef")
    worker.incidents.update({alert.id: alert, other.id: other})
    config = ChannelsConfig(desk=DeskConfig(api_url=worker.url), api_token=SecretStr(TOKEN))
    link = config.desk.model_copy(update={"link_key": config.api_token}).incident_url(alert)
    assert "?sig=" in link and TOKEN not in link
    async with httpx.AsyncClient() as phone:
        opened = await phone.get(link)
        assert opened.status_code == 200 and opened.json()["alert"]["id"] == alert.id
        assert "deliveries" not in opened.json()  # deliveries name subscriptions: the token's, not a link's
        sig = link.split("?sig=")[1]
        assert (await phone.get(f"{worker.url}/api/incidents/{quote(other.id)}?sig={sig}")).status_code == 401
        assert (await phone.get(f"{worker.url}/api/incidents/{quote(alert.id)}?sig={'0' * 32}")).status_code == 401
        assert (await phone.get(f"{worker.url}/api/incidents/{quote(alert.id)}")).status_code == 401
        assert (await phone.get(f"{worker.url}/api/incidents?sig={sig}")).status_code == 401  # one incident only
