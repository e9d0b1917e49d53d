"""How an alert reads to a person on a phone at 3 a.m.: the desk's time, what happened when, why it fired,
where it was reported, and whether it is a replay. Shared by the human channels (Slack, e-mail, Alertmanager
annotations); each escapes the lines for its own format, since every string here may come from a feed.

Why one module: the desk measured replayed alerts that looked live in Slack and e-mail, raw UTC windows
("in the night from 2025-10-29T15:00:00+00:00"), sources that were not links and an e-mail without the event
time. Each channel had its own idea of these; now they read them from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, SecretStr

from alerts.links import signature
from alerts.messages import number
from schemas.alert import Alert
from schemas.base import TimeZone, web_url

_FACTS = ("drones", "missiles", "destroyed", "killed", "injured", "children")
_EVIDENCE_SHOWN = 4


class DeskConfig(BaseModel):
    """Who reads the alerts: their time zone, and where Salvo's API is reachable for incident links.

    :param timezone: the desk's IANA zone (default Europe/Kyiv); every time is shown there, then in UTC.
    :param api_url: the worker's API as the desk reaches it; incident links (`/api/incidents/ID`) and
        Alertmanager's `generatorURL` point there.
    :param link_key: the API token, when the worker has one: links are signed with it (`alerts.links`), so a
        click opens the incident without the token.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: TimeZone = "Europe/Kyiv"
    api_url: str = "http://127.0.0.1:6066"
    link_key: SecretStr | None = None

    def incident_url(self, alert: Alert) -> str:
        """The incident's page in Salvo's API, signed when there is a key."""
        url = f"{self.api_url.rstrip('/')}/api/incidents/{alert.id}"
        return url if self.link_key is None else f"{url}?sig={signature(alert.id, self.link_key.get_secret_value())}"


DEFAULT_DESK = DeskConfig()


def when(at: datetime, desk: DeskConfig) -> str:
    """A time as the desk reads it, then UTC: "2025-09-07 08:30 EEST (05:30 UTC)"."""
    local = at.astimezone(ZoneInfo(desk.timezone))
    utc = at.astimezone(ZoneInfo("UTC"))
    same_day = local.date() == utc.date()
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({utc:%H:%M} UTC{'' if same_day else f' {utc:%Y-%m-%d}'})"


def replay_mark(alert: Alert) -> str | None:
    """"REPLAY <label>" for an alert of replayed history, so it never reads as live; None otherwise."""
    return f"REPLAY {alert.replay.label}" if alert.replay is not None else None


def status_word(alert: Alert) -> str:
    """The one word a heading starts with: RESOLVED, else the severity; a replay says so first."""
    word = "RESOLVED" if alert.status == "resolved" else alert.severity.upper()
    mark = replay_mark(alert)
    return f"{mark} · {word}" if mark else word


def facts_text(alert: Alert) -> list[str]:
    """The alert's numbers and regions as short "Label: value" lines."""
    lines = [f"{name.capitalize()}: {value}" for name in _FACTS if (value := getattr(alert.facts, name))]
    if alert.facts.regions:
        lines.append(f"Regions ({len(alert.facts.regions)}): {', '.join(alert.facts.regions)}")
    elif alert.facts.regions_count:
        lines.append(f"Regions: {alert.facts.regions_count} (not named)")
    return lines


def times_text(alert: Alert, desk: DeskConfig) -> list[str]:
    """When it happened: the incident's start (its first report, or the night's start) and its end."""
    lines = [f"Since: {when(alert.starts_at, desk)}"]
    if alert.ends_at is not None:
        lines.append(f"Until: {when(alert.ends_at, desk)}")
    return lines


def why_text(alert: Alert) -> list[str]:
    """Why it fired: the rule and its threshold with the value, the rule's own account, and the spans of the
    text that decided the classification and the counts."""
    rule = f"Rule {alert.rule_id}"
    if alert.threshold is not None and alert.value is not None:
        rule += f": {number(alert.value)} against a threshold of {number(alert.threshold)}"
    lines = [rule]
    if alert.summary:
        lines.append(alert.summary)
    spans = [f"“{e.text}” ({e.rule or e.kind})" for e in alert.evidence[:_EVIDENCE_SHOWN]]
    if spans:
        lines.append("Evidence: " + "; ".join(spans))
    return lines


@dataclass(frozen=True)
class Source:
    """A source as shown: its text, and its URL when it is an http(s) link (`schemas.base.web_url`)."""

    text: str
    url: str | None


def sources(alert: Alert) -> list[Source]:
    """The alert's sources, each a link where it is a web URL and plain text otherwise ("kpszsu/…")."""
    out = []
    for source in alert.sources:
        try:
            out.append(Source(source, web_url(source)))
        except ValueError:
            out.append(Source(source, None))
    return out


def plain_lines(alert: Alert, desk: DeskConfig) -> list[str]:
    """Everything above as plain text lines, in reading order (e-mail's text part, Alertmanager's
    description)."""
    mark = replay_mark(alert)
    return [
        *([f"{mark}: replayed history, not live"] if mark else []),
        *times_text(alert, desk),
        *facts_text(alert),
        *why_text(alert),
        *(f"Source: {s.url or s.text}" for s in sources(alert)),
        f"Incident: {desk.incident_url(alert)}",
    ]
