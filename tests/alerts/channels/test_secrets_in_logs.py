"""No secret in any log line: every log record at DEBUG, through one full delivery to each of the five
channels on real receivers (HTTP, STARTTLS + AUTH SMTP, Alertmanager, the broker)."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry

from alerts.channels import ChannelsConfig, build_channels
from alerts.channels.email import EmailConfig
from alerts.delivery import Deliverer, DeliveryMetrics
from alerts.egress import TargetPolicy, egress_client
from alerts.outbox import Outbox
from schemas.delivery import DeliveryRecord, DeliveryStatus
from schemas.subscription import Subscription
from streams.broker import LOOPBACK_NETWORKS, EmbeddedBroker
from tests.alerts.channels.fixtures import Receiver
from tests.alerts.channels.servers import SMTP_LOGIN, SMTP_PASSWORD, Inbox
from tests.alerts.conftest import SECRET, make_alert

pytestmark = pytest.mark.broker

WEBHOOK_KEY, WEBHOOK_TOKEN = "k3y-webhook-0123", "tok-webhook-4567"
SLACK_TOKEN, AM_TOKEN = "sl4ck-t0ken-89ab", "am-bearer-cdef01"
# The test's own receiving servers log what they were sent (aiohttp's access log, aiosmtpd's session log);
# those are the receivers' records, not Salvo's, so they are left out.
RECEIVER_LOGGERS = ("aiohttp.access", "mail.log")


async def test_a_delivery_to_every_channel_logs_no_secret(
    caplog: pytest.LogCaptureFixture, receiver: Receiver, alertmanager: str,
    tls_inbox: tuple[Inbox, int, Path], broker: EmbeddedBroker,
) -> None:  # fmt: skip
    inbox, smtp_port, cert = tls_inbox
    targets = {
        "hook": {"type": "webhook", "url": f"{receiver.url}/{WEBHOOK_KEY}?token={WEBHOOK_TOKEN}", "secret": SECRET},
        "chat": {"type": "slack", "url": f"{receiver.url}/services/T0/B0/{SLACK_TOKEN}"},
        "oncall": {"type": "alertmanager", "url": alertmanager, "bearer_token": AM_TOKEN},
        "desk": {"type": "email", "to": ["desk@example.org"]},
        "feed": {"type": "kafka", "topic": "tlog.analytics"},
    }
    subscriptions = {name: Subscription.model_validate({"name": name, "target": t}) for name, t in targets.items()}
    config = ChannelsConfig(
        email=EmailConfig(port=smtp_port, username=SMTP_LOGIN, password=SMTP_PASSWORD, ca_file=cert)
    )
    records: list[DeliveryRecord] = []

    async def record(delivered: DeliveryRecord) -> None:
        records.append(delivered)

    caplog.set_level(logging.DEBUG)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    try:
        async with egress_client(TargetPolicy.from_setting(LOOPBACK_NETWORKS)) as http:
            deliverer = Deliverer(
                channels=build_channels(config, http=http, producer=producer), outbox=Outbox({}),
                subscriptions=subscriptions, silences={}, record=record,
                metrics=DeliveryMetrics(CollectorRegistry()), rng=random.Random(1),
            )  # fmt: skip
            await deliverer.submit(make_alert(), now=datetime.now(UTC))
    finally:
        await producer.stop()

    assert {r.subscription: r.status for r in records} == dict.fromkeys(targets, DeliveryStatus.DELIVERED)
    assert len(inbox.messages) == 1 and len(receiver.received) == 2
    logged = [r for r in caplog.records if not r.name.startswith(RECEIVER_LOGGERS)]
    text = "\n".join(f"{r.name} {r.getMessage()}" for r in logged)
    assert "HTTP Request: POST" in text and "send_request_headers" in text  # the client did log, at DEBUG
    assert f"{receiver.url}/k3…/****" in text  # masked, with the host visible
    secrets = [SECRET, WEBHOOK_KEY, WEBHOOK_TOKEN, SLACK_TOKEN, AM_TOKEN, SMTP_PASSWORD, "services/T0/B0"]
    found = [secret for secret in secrets if secret in text]
    assert found == [], f"secrets in logs: {found}"
