"""Hostile feed text through every channel's payload builder: it stays text, and never becomes markup,
a mention, a link or a header."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from alerts.channels import alertmanager, email, kafka, slack, webhook
from alerts.channels.base import Envelope
from schemas.event import Facts
from schemas.news import NewsItem
from schemas.subscription import Subscription
from tests.alerts.conftest import T0, make_alert

INJECTIONS = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U024BE7LH> look",
    "<#C024BE7LR>",
    "<!subteam^S0614TZR7|@oncall>",
    "<!date^1392734382^{date}|fallback>",
    "<http://evil.example|Official statement>",
    "<https://evil.example>",
    "<mailto:x@evil.example|mail>",
    "&lt;!channel&gt;",
    "&amp;",
    "a > b < c & d",
    "*bold* _it_ ~strike~ `code`",
    "headline\r\nBcc: victim@evil.example",
    "headline\nX-Injected: 1\n\nbody",
    "line one\u2028line two",
    '"quoted" \\ backslash',
]
# A link Salvo built from a validated http(s) source: the only markup a Slack string may hold.
_OWN_LINK = re.compile(r"<https?://[^|<>\s]+\|(?:source \d+|incident)>")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _hostile_alert(text: str):
    return make_alert(
        title=f"Strike {text}", summary=f"Summary {text}", group_key=text,
        facts=Facts(drones=5, regions=[text]), labels={"team": text},
        sources=["https://t.me/kpszsu/1", f"https://example.org/{text}", text],
    )  # fmt: skip


def _subscription(kind: str) -> Subscription:
    targets = {
        "slack": {"type": "slack", "url": "https://hooks.slack.com/services/T/B/x"},
        "email": {"type": "email", "to": ["desk@example.org"]},
    }
    return Subscription.model_validate({"name": "s", "target": targets[kind]})


@pytest.mark.parametrize("text", INJECTIONS)
def test_slack_strings_hold_no_markup_from_the_feed(text: str) -> None:
    payload = slack.build_payload(Envelope(_hostile_alert(text), _subscription("slack"), f"id:{text}", T0))
    for string in _strings(payload):
        rest = _OWN_LINK.sub("", string)
        assert "<" not in rest and ">" not in rest, string
        assert re.sub(r"&(amp|lt|gt);", "", rest).count("&") == 0, string
    links = [link for s in _strings(payload) for link in _OWN_LINK.findall(s)]
    # the incident's page, then the sources that are web URLs: the bare text is no link
    assert links[0].endswith("|incident>") and links[1] == "<https://t.me/kpszsu/1|source 1>" and len(links) == 3


@pytest.mark.parametrize("text", INJECTIONS)
def test_email_headers_stay_on_one_line_and_html_is_escaped(text: str) -> None:
    message = email.build_message(
        Envelope(_hostile_alert(text), _subscription("email"), "k:v1", T0), sender="salvo@example.org"
    )
    assert "\r" not in message["Subject"] and "\n" not in message["Subject"]
    names = [line.split(":", 1)[0] for line in message.as_string().split("\n\n", 1)[0].splitlines()]
    assert "Bcc" not in names and "X-Injected" not in names
    html = message.get_body(("html",)).get_content()
    assert "<!" not in html and "<@" not in html and "<http://evil" not in html


@pytest.mark.parametrize("text", INJECTIONS)
def test_json_channels_carry_the_text_as_data(text: str) -> None:
    alert = _hostile_alert(text)
    sub = Subscription.model_validate(
        {"name": "s", "target": {"type": "webhook", "url": "https://x.example/h", "secret": "s" * 16}}
    )
    envelope = Envelope(alert, sub, "k:v1", T0)
    assert json.loads(webhook.encode(webhook.build_payload(envelope)))["alert"]["title"] == alert.title
    (posted,) = alertmanager.build_payload(envelope, resend_interval=timedelta(minutes=1))
    assert json.loads(json.dumps(posted))["annotations"]["title"] == alert.title
    _, value, _ = kafka.build_record(envelope)
    assert json.loads(value)["title"] == alert.title


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,<b>x</b>", "ftp://example.org/x", "not a url", "//evil.example"]
)
def test_a_news_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="url"):
        NewsItem(id="n1", source="s", url=url, published_at=datetime.now(UTC), title="t")


def test_a_news_url_cannot_break_out_of_a_slack_link() -> None:
    item = NewsItem(id="n1", source="s", url="https://x.example/a|b> <!channel>", published_at=T0, title="t")
    payload = slack.build_payload(Envelope(make_alert(sources=[item.url]), _subscription("slack"), "k", T0))
    (footer,) = payload["blocks"][-1]["elements"]
    assert footer["text"].endswith("<https://x.example/a%7Cb%3E%20%3C!channel%3E|source 1>")
