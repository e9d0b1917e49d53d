"""The Slack channel: an incoming-webhook POST with a readable Block Kit message (severity, facts, links).

Every string in the message may come from a feed Salvo did not write, so each is escaped as Slack's message
formatting guide asks (`&`, `<`, `>` as entities): a headline's `<!channel>`, `<@U123>` or `<http://x|y>`
then shows as text and pings or links nobody. Links are built only from sources that are http(s) URLs by
the same rule as `NewsItem.url` (`schemas.base.web_url`); anything else is shown as escaped text.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from alerts.channels.base import Envelope, post_json
from alerts.present import DEFAULT_DESK, DeskConfig, facts_text, sources, status_word, times_text, when, why_text
from schemas.subscription import SlackTarget

PAYLOAD_VERSION = "1"
_ICON = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}


class SlackConfig(BaseModel):
    """Process-wide Slack settings; the webhook URL (the credential) is per subscription.

    :param max_sources: source links shown, so a long list does not push the facts off screen (default 5).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_sources: int = 5


def escape(text: str) -> str:
    """`text` as literal Slack text: the three characters that start mentions, links and entities escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, label: str) -> str:
    """A Slack link (`|`, which ends a link's URL, percent-encoded), its label escaped."""
    return f"<{escape(url).replace('|', '%7C')}|{escape(label)}>"


def build_payload(envelope: Envelope, *, max_sources: int = 5, desk: DeskConfig = DEFAULT_DESK) -> dict[str, Any]:
    """Block Kit blocks plus a plain `text` fallback (what notifications and old clients show)."""
    alert = envelope.alert
    heading = f"{_ICON[alert.severity]} [{status_word(alert)}] {escape(alert.title)}"
    fields = [
        {"type": "mrkdwn", "text": f"*Severity*\n{alert.severity}"},
        {"type": "mrkdwn", "text": f"*Status*\n{alert.status} (v{alert.version})"},
        {"type": "mrkdwn", "text": f"*Rule*\n`{escape(alert.rule_id)}`"},
        {"type": "mrkdwn", "text": f"*Since*\n{escape(when(alert.starts_at, desk))}"},
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": heading[:150], "emoji": True}},
        {"type": "section", "fields": fields},
    ]
    details = [*times_text(alert, desk)[1:], *facts_text(alert), *why_text(alert)]
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": escape("\n".join(details))[:3000]}})
    shown = sources(alert)[:max_sources]
    links = " · ".join(_link(s.url, f"source {n}") if s.url else escape(s.text) for n, s in enumerate(shown, 1))
    incident = _link(desk.incident_url(alert), "incident")
    footer = " · ".join(part for part in (
        f"salvo v{PAYLOAD_VERSION}", escape(envelope.idempotency_key), incident, links) if part)
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    return {"text": heading, "blocks": blocks}


class SlackChannel:
    """Posts to a Slack incoming webhook; Slack answers 429 with Retry-After when a channel is flooded."""

    def __init__(self, config: SlackConfig, *, client: httpx.AsyncClient, desk: DeskConfig = DEFAULT_DESK) -> None:
        self._config = config
        self._client = client
        self._desk = desk

    async def send(self, envelope: Envelope) -> None:
        """POST the message; raises `ChannelError` with the hook URL redacted."""
        target = envelope.subscription.target
        assert isinstance(target, SlackTarget)
        url = target.url.get_secret_value()
        body = json.dumps(build_payload(envelope, max_sources=self._config.max_sources, desk=self._desk)).encode()
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
