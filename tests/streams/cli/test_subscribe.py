"""Tests of `salvo subscribe|route|silence|incidents|ack|deliveries` (streams/cli/{subscribe,silence,incidents,
deliveries}.py).

The commands run against a real API server (the worker's routes over dict views) in a thread, with a real
webhook receiver behind it, exactly as a newcomer would use them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from schemas.delivery import DeliveryStatus
from streams.cli import deliveries, incidents, silence, subscribe
from tests.alerts.api_fixtures import TOKEN, ApiWorker, ThreadedApiWorker
from tests.alerts.conftest import make_alert


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    for module in (subscribe, silence, incidents, deliveries):
        module.register(app)
    return app


@pytest.fixture
def served() -> Iterator[tuple[ApiWorker, ThreadedApiWorker]]:
    threaded = ThreadedApiWorker()
    with threaded as worker:
        yield worker, threaded


def run(cli: typer.Typer, worker: ApiWorker, *args: str) -> tuple[int, str]:
    env = {"SALVO_API_URL": worker.url, "SALVO_API_TOKEN": TOKEN, "COLUMNS": "200"}
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.output


def test_subscribe_each_channel_list_update_remove(cli, served) -> None:
    worker, _ = served
    code, out = run(cli, worker, "subscribe", "add", "ops", "--webhook", worker.receiver.url,
                    "--region", "Kharkov", "--min-severity", "warning")  # fmt: skip
    assert code == 0 and "subscribed ops (webhook)" in out and "signing secret (shown once" in out
    secret = out.rsplit(": ", 1)[1].strip()
    assert worker.subscriptions["ops"].target.secret.get_secret_value() == secret
    assert worker.subscriptions["ops"].filters.regions == ["Kharkiv"]
    for args in (["--slack", "https://hooks.slack.com/services/T0A1/B0B2/sl4ck-t0ken"], ["--email", "desk@example.org"],
                 ["--alertmanager", "http://127.0.0.1:9093"], ["--kafka", "alerts.newsroom"]):  # fmt: skip
        code, out = run(cli, worker, "subscribe", "add", f"s-{args[0][2:]}", *args)
        assert code == 0, out
    code, out = run(cli, worker, "subscribe", "list")
    assert code == 0 and "5 subscriptions" in out and "https://hooks.slack.com/services/T0…/****" in out
    assert f"http://127.0.0.1:{worker.receiver.port}/ho…/****" in out
    assert secret not in out and "sl4ck-t0ken" not in out and "B0B2" not in out
    code, out = run(cli, worker, "subscribe", "list", "--json")
    assert code == 0 and secret not in out and "sl4ck-t0ken" not in out and f"{worker.receiver.port}/hook" not in out
    code, out = run(cli, worker, "subscribe", "update", "ops", "--category", "attack", "--disable")
    assert code == 0 and worker.subscriptions["ops"].filters.categories == ["attack"]
    assert not worker.subscriptions["ops"].enabled
    assert worker.subscriptions["ops"].target.secret.get_secret_value() == secret  # kept
    assert (
        run(cli, worker, "subscribe", "remove", "s-kafka")[0] == 0 and "s-kafka" not in worker.subscriptions
    )


def test_bad_subscriptions_are_refused_with_the_reason(cli, served) -> None:
    worker, _ = served
    code, out = run(cli, worker, "subscribe", "add", "x", "--webhook", "htp:/nowhere")
    assert code == 1 and "target.webhook.url" in out
    code, out = run(
        cli, worker, "subscribe", "add", "x", "--webhook", "http://127.0.0.1:1/h", "--region", "Gondor"
    )
    assert code == 1 and "unknown region 'Gondor'" in out
    assert worker.subscriptions == {}


def test_subscribe_test_and_route(cli, served, tmp_path: Path) -> None:
    worker, _ = served
    run(cli, worker, "subscribe", "add", "ops", "--webhook", worker.receiver.url, "--region", "Kharkiv")
    run(cli, worker, "subscribe", "add", "west", "--webhook", worker.receiver.url, "--region", "Lviv")
    code, out = run(cli, worker, "subscribe", "test", "ops")
    assert code == 0 and "delivered to ops" in out and len(worker.receiver.received) == 1
    alert_file = tmp_path / "alert.json"
    alert_file.write_text(make_alert().model_dump_json())
    code, out = run(cli, worker, "route", str(alert_file), "--json")
    decisions = json.loads(out)
    assert [(d["subscription"], d["verdict"]) for d in decisions] == [
        ("ops", "deliver"),
        ("west", "filtered"),
    ]
    code, out = run(cli, worker, "route", str(alert_file))
    assert "1 of 2 subscriptions reached" in out and "region Kharkiv, Sumy not in Lviv" in out


def test_silence_add_list_expire(cli, served, tmp_path: Path) -> None:
    worker, _ = served
    run(cli, worker, "subscribe", "add", "ops", "--webhook", worker.receiver.url)
    code, out = run(cli, worker, "silence", "add", "--match", "region=Kharkiv", "--for", "2h",
                    "--comment", "drill", "--spanning")  # fmt: skip
    assert code == 0 and out.startswith("silence ")
    silence_id = out.split()[1]
    alert_file = tmp_path / "alert.json"
    alert_file.write_text(make_alert().model_dump_json())
    assert json.loads(run(cli, worker, "route", str(alert_file), "--json")[1])[0]["verdict"] == "silenced"
    listed = run(cli, worker, "silence", "list")[1]
    assert silence_id in listed and "(spanning)" in listed
    assert run(cli, worker, "silence", "expire", silence_id)[0] == 0
    assert "0 silences" in run(cli, worker, "silence", "list")[1]
    code, out = run(
        cli, worker, "silence", "add", "--match", "region=Kharkiv", "--for", "90d", "--comment", "x"
    )
    assert code == 1 and "at most 30 days" in out
    code, out = run(cli, worker, "silence", "add", "--match", "regoin=Kharkiv", "--for", "2h", "--comment", "x")
    assert code == 1 and "did you mean 'region'?" in out


def test_incidents_list_and_ack_holds_the_later_versions_but_not_the_resolved(cli, served) -> None:
    """A night that grows all night paged again at each version; acknowledged, it pages no more."""
    worker, threaded = served
    run(cli, worker, "subscribe", "add", "ops", "--webhook", worker.receiver.url, "--send-resolved")
    first = make_alert()
    worker.incidents[first.id] = first
    threaded.run(worker.deliverer.submit(first, now=datetime.now(UTC)))
    code, out = run(cli, worker, "incidents", "--active", "--json")
    (row,) = json.loads(out)
    assert code == 0 and (row["id"], row["version"], row["acknowledged"]) == (first.id, 1, None)
    code, out = run(cli, worker, "ack", first.id, "--comment", "on it, calling the air force", "--by", "nika")
    assert code == 0 and f"acknowledged {first.id} at v1" in out
    assert "nika: on it" in run(cli, worker, "incidents")[1]
    grown = make_alert(version=2, status="updated", value=900)
    threaded.run(worker.deliverer.submit(grown, now=datetime.now(UTC)))
    held = worker.log[-1]
    assert held.status is DeliveryStatus.ACKNOWLEDGED and "acknowledged by nika" in (held.error or "")
    over = make_alert(version=3, status="resolved", value=900)
    threaded.run(worker.deliverer.submit(over, now=datetime.now(UTC)))
    keys = [got.headers["Idempotency-Key"] for got in worker.receiver.received]
    assert keys == [first.key, over.key]  # v2 held, the resolved version still told
    code, out = run(cli, worker, "ack", "no-such-incident")
    assert code == 1 and "see `salvo incidents`" in out


def test_deliveries_list_and_redrive(cli, served) -> None:
    worker, threaded = served
    run(cli, worker, "subscribe", "add", "ops", "--webhook", worker.receiver.url)
    worker.receiver.fail(404)
    threaded.run(worker.deliverer.submit(make_alert(), now=datetime.now(UTC)))
    code, out = run(cli, worker, "deliveries", "list", "--state", "dead", "--json")
    (row,) = json.loads(out)
    assert row["reason"] == "client" and "HTTP 404" in row["error"]
    code, out = run(cli, worker, "deliveries", "redrive", "--all-dead")
    assert code == 0 and f"redriven {row['key']}" in out
    assert worker.log[-1].status is DeliveryStatus.DELIVERED
    keys = {got.headers["Idempotency-Key"] for got in worker.receiver.received}
    assert keys == {make_alert().key}


def test_an_unreachable_worker_says_so(cli) -> None:
    result = CliRunner().invoke(cli, ["subscribe", "list"], env={"SALVO_API_URL": "http://127.0.0.1:1"})
    assert result.exit_code == 1 and "is `salvo worker` running" in result.output


def test_secrets_key_prints_a_key_that_seals(cli) -> None:
    from schemas.secrets import Sealer

    result = CliRunner().invoke(cli, ["secrets", "key"])
    sealer = Sealer(result.output.strip())
    assert result.exit_code == 0 and sealer.open(sealer.seal("x")) == "x"
