"""The Slack channel: an incoming-webhook POST with a readable Block Kit message (severity, facts, links)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from alerts.channels.base import Envelope, facts_text, post_json
from schemas.subscription import SlackTarget

PAYLOAD_VERSION = "1"
_ICON = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}


class SlackConfig(BaseModel):
    """Process-wide Slack settings; the webhook URL (the credential) is per subscription.

    :param max_sources: source links shown, so a long list does not push the facts off screen (default 5).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_sources: int = 5


def build_payload(envelope: Envelope, *, max_sources: int = 5) -> dict[str, Any]:
    """Block Kit blocks plus a plain `text` fallback (what notifications and old clients show)."""
    alert = envelope.alert
    status = "RESOLVED" if alert.status == "resolved" else alert.severity.upper()
    heading = f"{_ICON[alert.severity]} [{status}] {alert.title}"
    fields = [
        {"type": "mrkdwn", "text": f"*Severity*\n{alert.severity}"},
        {"type": "mrkdwn", "text": f"*Status*\n{alert.status} (v{alert.version})"},
        {"type": "mrkdwn", "text": f"*Rule*\n`{alert.rule_id}`"},
        {"type": "mrkdwn", "text": f"*Since*\n{alert.starts_at:%Y-%m-%d %H:%M} UTC"},
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": heading[:150], "emoji": True}},
        {"type": "section", "fields": fields},
    ]
    if alert.summary:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": alert.summary[:3000]}})
    if facts := facts_text(alert):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(facts)}})
    links = " · ".join(f"<{url}|source {n}>" for n, url in enumerate(alert.sources[:max_sources], 1))
    footer = f"salvo v{PAYLOAD_VERSION} · {envelope.idempotency_key}" + (f" · {links}" if links else "")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    return {"text": heading, "blocks": blocks}


class SlackChannel:
    """Posts to a Slack incoming webhook; Slack answers 429 with Retry-After when a channel is flooded."""

    def __init__(self, config: SlackConfig, *, client: httpx.AsyncClient) -> None:
        self._config = config
        self._client = client

    async def send(self, envelope: Envelope) -> None:
        """POST the message; raises `ChannelError` with the hook URL redacted."""
        target = envelope.subscription.target
        assert isinstance(target, SlackTarget)
        url = target.url.get_secret_value()
        body = json.dumps(build_payload(envelope, max_sources=self._config.max_sources)).encode()
        await post_json(
            self._client,
            url,
            content=body,
            headers={},
            timeout_s=target.timeout_s,
            step="post Slack message",
            secrets=[url],
            now=envelope.now,
        )
