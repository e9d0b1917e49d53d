"""Issue 5's acceptance test: four receivers subscribed with the real CLI each get what their filters ask for.

A newcomer's session, against real servers: a worker with an API token and an SMTP server, a signed webhook,
a Slack-style hook (aiohttp), an address (aiosmtpd) and the real Alertmanager subscribed through
`salvo subscribe add`, the demo feed replayed with `--deliver`. The expectation is not written down: it is
the backtest of the same file with the same rules, routed with the worker's own `route`.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from alerts.backtest import BacktestResult, load_events, run_backtest
from alerts.rules import default_rules
from alerts.signing import verify
from alerts.subscriptions import route
from schemas import Alert, Subscription
from schemas.delivery import DeliveryRecord, DeliveryStatus
from streams import topics
from streams.demo import worker_env
from streams.reader import TopicReader
from streams.settings import SalvoSettings
from streams.topics import create_topics
from tests.alerts.channels.fixtures import Receiver
from tests.alerts.channels.servers import Inbox

pytestmark = pytest.mark.broker

SAMPLE = Path(__file__).parents[2] / "streams" / "data" / "demo" / "sample.jsonl"
TOKEN = "e2e-subscribers-token-0123456789"
ADDRESS = "desk@example.org"


@pytest.fixture
async def hooks() -> AsyncIterator[tuple[Receiver, Receiver]]:
    """Two real HTTP receivers: a signed webhook and a Slack incoming-webhook stand-in."""
    webhook, slack = Receiver(), Receiver()
    await webhook.start()
    await slack.start()
    yield webhook, slack
    await webhook.stop()
    await slack.stop()


def salvo(settings: SalvoSettings, *args: str) -> str:
    """Run the real CLI (as `python -m streams.cli`) and return its stdout; it must exit 0."""
    run = subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env=worker_env(settings), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, f"salvo {' '.join(args)}: {run.stdout}{run.stderr}"
    return run.stdout + run.stderr


def duplicates_dropped(settings: SalvoSettings) -> float:
    """The worker's count of items dropped as exact repeats (`salvo_duplicate_items_total`)."""
    text = httpx.get(f"http://127.0.0.1:{settings.web_port}/metrics", timeout=5).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "salvo_duplicate_items_total"
    )


async def settle(
    done: Callable[[], bool], *, timeout_s: float, quiet_s: float, watch: Callable[[], int]
) -> None:
    """Wait until `done()` (or `timeout_s`: the assertions that follow then show what is missing), then until
    `watch()` has not changed for `quiet_s`, so that anything extra would have arrived."""
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
    seen, since = watch(), time.monotonic()
    while time.monotonic() - since < quiet_s:
        await asyncio.sleep(0.3)
        if watch() != seen:
            seen, since = watch(), time.monotonic()


def slack_key(body: bytes) -> str:
    """The idempotency key in the Slack message's context footer (`salvo v1 · KEY · sources`)."""
    footer = json.loads(body)["blocks"][-1]["elements"][0]["text"]
    return footer.split(" · ")[1]


async def test_four_receivers_subscribed_from_the_cli_get_what_their_filters_ask_for(
    salvo_settings: SalvoSettings,
    start_worker,
    hooks: tuple[Receiver, Receiver],
    inbox: tuple[Inbox, int],
    alertmanager: str,
) -> None:
    webhook, slack = hooks
    mailbox, smtp_port = inbox
    # One partition per feed, so the worker sees the replay's order; a short start-up hold, so the feed that
    # the worker happens to read second (news or strikes) is not behind a watermark the first one moved.
    prefix = salvo_settings.topic_prefix + "s."
    settings = salvo_settings.model_copy(
        update={"api_token": TOKEN, "partitions": 1, "start_hold_s": 10.0, "topic_prefix": prefix}
    )
    create_topics(settings)
    smtp = {"SALVO_EMAIL__PORT": str(smtp_port), "SALVO_EMAIL__STARTTLS": "false",
            "SALVO_EMAIL__SENDER": "salvo@example.org"}  # fmt: skip
    await asyncio.to_thread(start_worker, settings, env=smtp)

    api = ["--api-url", f"http://127.0.0.1:{settings.web_port}", "--api-token", TOKEN]
    subscribe = [  # each picks its own part of the feed (see `expected` below)
        ["ops-hook", "--webhook", webhook.url, "--category", "attack", "--region", "Kharkiv", "--send-resolved"],
        ["newsroom", "--slack", slack.url],
        ["desk", "--email", ADDRESS, "--region", "Харків"],
        ["oncall", "--alertmanager", alertmanager, "--min-severity", "warning", "--rule", "attack-night"],
    ]
    added = [await asyncio.to_thread(salvo, settings, "subscribe", "add", *args, *api) for args in subscribe]
    secret = re.search(r"signing secret .*: (\S+)", added[0]).group(1)

    listed = await asyncio.to_thread(salvo, settings, "subscribe", "list", "--json", *api)
    table = await asyncio.to_thread(salvo, settings, "subscribe", "list", *api)
    stored = {sub["name"]: sub for sub in json.loads(listed)}
    assert sorted(stored) == ["desk", "newsroom", "oncall", "ops-hook"]
    assert stored["desk"]["filters"]["regions"] == ["Kharkiv"]  # any spelling is stored canonically
    assert all(name in table for name in stored)
    for shown in (listed, table):  # the signing secret and the Slack URL (its own credential) are masked
        assert secret not in shown and slack.url not in shown

    # The expectation: the backtest of the same file with the same rules, routed to the stored filters.
    targets = {
        "ops-hook": {"type": "webhook", "url": webhook.url, "secret": secret},
        "newsroom": {"type": "slack", "url": slack.url},
        "desk": {"type": "email", "to": [ADDRESS]},
        "oncall": {"type": "alertmanager", "url": alertmanager},
    }
    subs = [Subscription.model_validate({"name": n, "target": targets[n], "filters": stored[n]["filters"],
                                         "send_resolved": stored[n]["send_resolved"]})
            for n in targets]  # fmt: skip
    # Absence rules (feed-silent) are checked against the worker's clock, the backtest's being event time: a
    # replay at --max has no 24 h gap of wall-clock time, so only the other rules' alerts are replayable.
    rules = default_rules()
    backtest = run_backtest([SAMPLE], rules, allowed_lateness=settings.allowed_lateness)
    assert not backtest.rejected and not backtest.late
    absence = {rule.id for rule in rules if rule.kind == "absence"}
    # Live, both feeds are ingested within a second, so neither goes idle (idleness is ingest time, relative
    # to the other feed) and the watermark stops at the older feed's newest event minus the lateness; the
    # backtest, ingesting in event time, sees the news feed idle for months and resolves past it.
    events = load_events([SAMPLE], result=BacktestResult())
    reach = min(max(e.occurred_at for e in events if e.feed == feed) for feed in ("news", "strikes"))
    reach -= settings.allowed_lateness
    replayable = [a for a in backtest.alerts if a.rule_id not in absence
                  and not (a.status == "resolved" and a.ends_at is not None and a.ends_at > reach)]
    assert len(replayable) >= 4
    now = datetime.now(UTC)
    expected: dict[str, list[Alert]] = {
        sub.name: [a for a in replayable if route(a, [sub], [], now=now)[0].deliver] for sub in subs
    }
    # Each filter picks its own non-empty part of the feed, so the test tells the receivers apart.
    assert all(expected.values())
    assert len(expected["oncall"]) == sum(a.rule_id == "attack-night" for a in replayable) < len(replayable)
    assert len({frozenset(a.key for a in alerts) for alerts in expected.values()}) == 4

    replayed = await asyncio.to_thread(salvo, settings, "replay", str(SAMPLE), "--max", "--deliver")
    assert "will be delivered" in replayed

    log: list[DeliveryRecord] = []
    with TopicReader(settings, [topics.DELIVERY_LOG]) as reader:

        def poll() -> int:
            log.extend(DeliveryRecord.model_validate_json(r.value) for r in reader.poll(0.2) if r.value)
            return len(log)

        total = sum(len(alerts) for alerts in expected.values())
        await settle(
            lambda: poll() >= total, timeout_s=60, quiet_s=3,
            watch=lambda: poll() + len(webhook.received) + len(slack.received) + len(mailbox.messages),
        )  # fmt: skip

        with TopicReader(settings, [topics.ALERTS]) as alerts:
            live: list[Alert] = []
            for _ in range(10):
                live += [Alert.model_validate_json(r.value) for r in alerts.poll(1) if r.value]
                if len(live) >= len(replayable):
                    break
        assert sorted(a.key for a in live) == sorted(a.key for a in replayable)  # the worker's own alerts
        got = {
            "ops-hook": [json.loads(r.body)["idempotency_key"] for r in webhook.received],
            "newsroom": [slack_key(r.body) for r in slack.received],
            "desk": [m["X-Salvo-Idempotency-Key"] for m in mailbox.messages],
            "oncall": [r.outbox_key.split("|")[0] for r in log if r.subscription == "oncall"],
        }
        for name, alerts in expected.items():
            assert Counter(got[name]) == Counter(a.key for a in alerts), name  # each key exactly once
        assert {(r.subscription, r.status) for r in log} == {(n, DeliveryStatus.DELIVERED) for n in expected}
        assert all(verify(r.body, r.headers["X-Salvo-Signature"], secret=secret, now=time.time())
                   for r in webhook.received)  # fmt: skip
        assert all(m["To"] == ADDRESS for m in mailbox.messages)

        # Alertmanager lists every alert it was sent whose last version still fires (resolved ones have ended).
        last = {a.id: a for a in expected["oncall"]}
        firing = {i for i, a in last.items() if a.status != "resolved"}
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{alertmanager}/api/v2/alerts", params={"filter": "source=salvo"})
        response.raise_for_status()
        listed_ids = {a["labels"]["salvo_id"] for a in response.json()}
        assert firing and listed_ids == firing

        # `salvo incidents` lists each incident at its latest version, and `salvo ack` takes one.
        latest: dict[str, Alert] = {}
        for alert in live:
            if alert.version > latest.get(alert.id, alert).version or alert.id not in latest:
                latest[alert.id] = alert
        rows = json.loads(await asyncio.to_thread(salvo, settings, "incidents", "--json", *api))
        assert {r["id"]: r["version"] for r in rows} == {i: a.version for i, a in latest.items()}
        taken = rows[0]["id"]
        acked = await asyncio.to_thread(salvo, settings, "ack", taken, "--comment", "desk has it", *api)
        assert f"acknowledged {taken}" in acked
        rows = json.loads(await asyncio.to_thread(salvo, settings, "incidents", "--json", *api))
        assert {r["id"]: (r["acknowledged"] or {}).get("comment") for r in rows}[taken] == "desk has it"

        # The same feed again without --deliver: the worker drops the repeats and nobody gets anything new.
        before = duplicates_dropped(settings)
        await asyncio.to_thread(salvo, settings, "replay", str(SAMPLE), "--max")
        counts = (len(webhook.received), len(slack.received), len(mailbox.messages), len(log))
        await settle(
            lambda: duplicates_dropped(settings) - before >= backtest.events, timeout_s=30, quiet_s=3,
            watch=lambda: poll() + len(webhook.received) + len(slack.received) + len(mailbox.messages),
        )  # fmt: skip
        assert (len(webhook.received), len(slack.received), len(mailbox.messages), len(log)) == counts
