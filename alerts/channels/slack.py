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

from alerts.channels.base import Envelope, facts_text, post_json
from schemas.base import web_url
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


def _source(n: int, source: str) -> str:
    """A numbered link to an http(s) source (with `|`, which ends a link's URL, percent-encoded), or text."""
    try:
        url = web_url(source)
    except ValueError:
        return escape(source)
    return f"<{escape(url).replace('|', '%7C')}|source {n}>"


def build_payload(envelope: Envelope, *, max_sources: int = 5) -> dict[str, Any]:
    """Block Kit blocks plus a plain `text` fallback (what notifications and old clients show)."""
    alert = envelope.alert
    status = "RESOLVED" if alert.status == "resolved" else alert.severity.upper()
    heading = f"{_ICON[alert.severity]} [{status}] {escape(alert.title)}"
    fields = [
        {"type": "mrkdwn", "text": f"*Severity*\n{alert.severity}"},
        {"type": "mrkdwn", "text": f"*Status*\n{alert.status} (v{alert.version})"},
        {"type": "mrkdwn", "text": f"*Rule*\n`{escape(alert.rule_id)}`"},
        {"type": "mrkdwn", "text": f"*Since*\n{alert.starts_at:%Y-%m-%d %H:%M} UTC"},
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": heading[:150], "emoji": True}},
        {"type": "section", "fields": fields},
    ]
    if alert.summary:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": escape(alert.summary)[:3000]}})
    if facts := facts_text(alert):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": escape("\n".join(facts))}})
    links = " · ".join(_source(n, source) for n, source in enumerate(alert.sources[:max_sources], 1))
    footer = f"salvo v{PAYLOAD_VERSION} · {escape(envelope.idempotency_key)}" + (f" · {links}" if links else "")
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
