"""The webhook channel: a signed JSON POST with an idempotency key, for any HTTP receiver."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from alerts.channels.base import Envelope, alert_json, post_json
from alerts.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign
from schemas.subscription import WebhookTarget

PAYLOAD_VERSION = "1"


class WebhookConfig(BaseModel):
    """Process-wide webhook settings; where to send and the secret are per subscription.

    :param user_agent: sent on every request so receivers can tell Salvo apart in their logs.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_agent: Annotated[str, Field(min_length=1)] = "salvo-webhook/1"


def build_payload(envelope: Envelope) -> dict[str, Any]:
    """The JSON body: the alert whole, with what a receiver needs to dedupe and route it."""
    return {
        "version": PAYLOAD_VERSION,
        "idempotency_key": envelope.idempotency_key,
        "subscription": envelope.subscription.name,
        "alert": alert_json(envelope.alert),
    }


def encode(payload: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON: the exact bytes that are signed and sent."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


class WebhookChannel:
    """Sends one signed POST per delivery; the signature covers the timestamp and the raw body."""

    def __init__(self, config: WebhookConfig, *, client: httpx.AsyncClient) -> None:
        self._config = config
        self._client = client

    async def send(self, envelope: Envelope) -> None:
        """POST the payload; raises `ChannelError` (classified, URL and secret redacted) on failure."""
        target = envelope.subscription.target
        assert isinstance(target, WebhookTarget)
        body = encode(build_payload(envelope))
        secret = target.secret.get_secret_value()
        url = target.url.get_secret_value()
        headers = {
            SIGNATURE_HEADER: sign(body, secret=secret, timestamp=int(envelope.now.timestamp())),
            IDEMPOTENCY_HEADER: envelope.idempotency_key,
            "User-Agent": self._config.user_agent,
        }
        await post_json(
            self._client,
            url,
            content=body,
            headers=headers,
            timeout_s=target.timeout_s,
            step="post webhook",
            secrets=[secret],
            now=envelope.now,
        )
