"""The Alertmanager channel: `POST /api/v2/alerts`, re-sent while firing and with `endsAt` when resolved.

Alertmanager resolves an alert whose `endsAt` has passed, so a firing alert is posted with
`endsAt = now + 4 × resend interval` (as Prometheus does) and re-posted every interval by `Deliverer.tick`;
a resolved version is posted with its real end time.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from alerts.channels.base import Envelope, post_json
from alerts.present import DEFAULT_DESK, DeskConfig, plain_lines
from schemas.alert import Alert
from schemas.subscription import AlertmanagerTarget

PAYLOAD_VERSION = "1"


class AlertmanagerConfig(BaseModel):
    """Process-wide Alertmanager settings (none yet: `generatorURL` is the incident's page in Salvo's API,
    from `DeskConfig.api_url`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _label_name(name: str) -> str:
    """Alertmanager refuses label names outside `[a-zA-Z_][a-zA-Z0-9_]*`; map anything else to `_`."""
    cleaned = re.sub(r"[^a-zA-Z0-9_]", "_", name)
    return cleaned if not cleaned[0].isdigit() else f"_{cleaned}"


def labels(alert: Alert) -> dict[str, str]:
    """The identity of the alert in Alertmanager: stable across versions, so updates replace it."""
    found = {
        **{_label_name(name): value for name, value in alert.labels.items()},
        "alertname": alert.rule_id,
        "salvo_id": alert.id,
        "severity": alert.severity,
        "source": "salvo",
    }
    if alert.category:
        found["category"] = alert.category
    if alert.facts.regions:
        found["region"] = ",".join(alert.facts.regions)
    if alert.replay is not None:  # a replayed alert is told apart in Alertmanager's UI and its routes
        found["replay"] = alert.replay.label
    return found


def build_payload(
    envelope: Envelope, *, resend_interval: timedelta, desk: DeskConfig = DEFAULT_DESK
) -> list[dict[str, Any]]:
    """A one-element `postableAlerts` list for Alertmanager's v2 API; `generatorURL` is the incident's page."""
    alert = envelope.alert
    if alert.status == "resolved":
        ends = alert.ends_at or envelope.now
    else:
        ends = envelope.now + 4 * resend_interval
    annotations = {
        "title": alert.title,
        "summary": alert.summary,
        "description": "\n".join(plain_lines(alert, desk)),
        "salvo_version": str(alert.version),
        "salvo_payload_version": PAYLOAD_VERSION,
        "idempotency_key": envelope.idempotency_key,
    }
    if alert.sources:
        annotations["sources"] = " ".join(alert.sources)
    if alert.value is not None:
        annotations["value"] = f"{alert.value:g}"
    return [
        {
            "labels": labels(alert),
            "annotations": {k: v for k, v in annotations.items() if v},
            "startsAt": _iso(alert.starts_at),
            "endsAt": _iso(ends),
            "generatorURL": desk.incident_url(alert),
        }
    ]


class AlertmanagerChannel:
    """Posts alerts to an Alertmanager; its API answers 200 with an empty body, 400 on a bad alert."""

    def __init__(self, config: AlertmanagerConfig, *, client: httpx.AsyncClient,
                 desk: DeskConfig = DEFAULT_DESK) -> None:
        self._config = config
        self._client = client
        self._desk = desk

    async def send(self, envelope: Envelope) -> None:
        """POST to `{url}/api/v2/alerts`; raises `ChannelError` (token redacted) on failure."""
        target = envelope.subscription.target
        assert isinstance(target, AlertmanagerTarget)
        payload = build_payload(
            envelope,
            resend_interval=timedelta(seconds=target.resend_interval_s),
            desk=self._desk,
        )
        token = target.bearer_token.get_secret_value() if target.bearer_token else None
        await post_json(
            self._client,
            str(target.url).rstrip("/") + "/api/v2/alerts",
            content=json.dumps(payload).encode(),
            headers={"Authorization": f"Bearer {token}"} if token else {},
            timeout_s=target.timeout_s,
            step="post to Alertmanager",
            secrets=[token],
            now=envelope.now,
        )
