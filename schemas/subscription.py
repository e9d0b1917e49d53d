"""`Subscription`: who receives which alerts, over which channel (`subscriptions` topic, compacted).

Channel targets are a discriminated union on `type`; each channel's process-wide delivery settings (SMTP
server, timeouts) live in `alerts/channels/<type>.py`, this contract only says where to deliver and what.

Secrets (`schemas.secrets.Secret`: URLs that carry credentials, signing secrets, tokens) are sealed when the
worker writes them to the compacted topic and masked in anything shown to people (`Subscription.public()`).
"""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, HttpUrl, field_validator, model_validator

from schemas.base import SEVERITY_RANK, Category, Contract, Identifier, Severity, ShortText, TimeZone
from schemas.secrets import MASK, Secret, SecretUrl, mask_url

Email = Annotated[str, Field(pattern=r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$", max_length=254)]
# Topics a subscription may never write to: Salvo reads or writes them, so a loop, a forged alert or a corrupt
# log would follow. They are refused under any topic prefix (`t1.alerts`, `prod-alerts`), as are Faust's
# changelog, repartition and assignor topics and Kafka's own (`__consumer_offsets`).
RESERVED_TOPICS = frozenset(
    {"news.raw", "strikes.raw", "airraid.raw", "events.classified", "events.late", "alerts", "control",
     "deliveries.log", "deadletter", "subscriptions", "silences", "acks"}
)  # fmt: skip
_RESERVED_WORDS = ("raw", "events", "alerts", "control", "late", "deadletter", "deliveries", "subscriptions",
                   "silences")  # fmt: skip
_INTERNAL_TOPIC = re.compile(r"(^__|__assignor|-changelog$|-repartition$)")


def reserved_topic(topic: str) -> str | None:
    """Why `topic` is one of Salvo's (or Kafka's) own, or None when a subscriber may receive alerts on it.

    A name is Salvo's when it is, or ends with, one of its topic names after any prefix, or when its last
    dot-, dash- or underscore-separated word is one of the words those names are made of (`ops.alerts`,
    `news.raw`); so `alerts.analytics` is free and `analytics.alerts` is not.
    """
    if _INTERNAL_TOPIC.search(topic):
        return "a Kafka or Faust internal topic"
    if any(topic.endswith(name) for name in RESERVED_TOPICS):  # the name itself, or under a prefix
        return "one of Salvo's own topics"
    if re.split(r"[._-]", topic)[-1].lower() in _RESERVED_WORDS:
        return "named like one of Salvo's own topics"
    return None


class WebhookTarget(Contract):
    """A JSON POST signed with HMAC-SHA256 (`X-Salvo-Signature`) using `secret`."""

    type: Literal["webhook"] = "webhook"
    url: SecretUrl  # its path and query often hold the receiver's key
    secret: Secret = Field(min_length=16)
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 10.0


class SlackTarget(Contract):
    """A Slack incoming-webhook URL; the URL is the credential, so it is kept as a secret."""

    type: Literal["slack"] = "slack"
    url: SecretUrl
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 10.0


class EmailTarget(Contract):
    """Recipients of a text+HTML e-mail; the SMTP server is process configuration (`EmailConfig`)."""

    type: Literal["email"] = "email"
    to: Annotated[list[Email], Field(min_length=1, max_length=32)]


class AlertmanagerTarget(Contract):
    """A Prometheus Alertmanager base URL; alerts go to `POST {url}/api/v2/alerts`."""

    type: Literal["alertmanager"] = "alertmanager"
    url: HttpUrl
    bearer_token: Secret | None = None
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 10.0
    resend_interval_s: Annotated[float, Field(ge=1, le=3_600)] = 60.0


class KafkaTarget(Contract):
    """A Kafka topic that receives the matching alerts as Alert JSON, for downstream consumers."""

    type: Literal["kafka"] = "kafka"
    topic: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,249}$")]

    @field_validator("topic")
    @classmethod
    def _not_internal(cls, value: str) -> str:
        """Writing into Salvo's own topics would loop alerts back into the pipeline."""
        if (why := reserved_topic(value)) is not None:
            raise ValueError(f"topic {value!r} is {why}; choose another name")
        return value


Target = Annotated[
    WebhookTarget | SlackTarget | EmailTarget | AlertmanagerTarget | KafkaTarget,
    Field(discriminator="type"),
]
ChannelType = Literal["webhook", "slack", "email", "alertmanager", "kafka"]


def canonical_region(name: str) -> str:
    """The canonical oblast name for any supported spelling, or a ValueError naming the input.

    The gazetteer lives with the classifier (`streams.classify.normalise_region`); this is its one call site.
    """
    from streams.classify import normalise_region

    canonical = normalise_region(name)
    if canonical is None:
        raise ValueError(f"unknown region {name!r}: use an oblast name such as 'Kharkiv' or 'Kyiv City'")
    return canonical


def known_subtype(name: str) -> str:
    """`name` if Salvo's events can carry it, or a ValueError listing the sub-types that exist.

    A filter on a sub-type no event has (`drone` for `drone_strike`) would match nothing, silently. The
    taxonomy lives with the classifier (`streams.classify.cues.SUBTYPES`); strike reports use its names.
    """
    from streams.classify.cues import SUBTYPES

    known = sorted({subtype for names in SUBTYPES.values() for subtype in names})
    if name not in known:
        raise ValueError(f"unknown sub-type {name!r}: one of {', '.join(known)}")
    return name


class QuietHours(Contract):
    """A daily window (local time) in which alerts below `except_severity` are not sent.

    `start` after `end` spans midnight (22:00-07:00). `except_severity=None` mutes everything.
    """

    start: time
    end: time
    timezone: TimeZone = "Europe/Kyiv"
    except_severity: Severity | None = "critical"

    def mutes(self, severity: str, at: datetime) -> bool:
        """True when an alert of `severity` at instant `at` falls in the quiet window."""
        if (
            self.except_severity is not None
            and SEVERITY_RANK[severity] >= SEVERITY_RANK[self.except_severity]
        ):
            return False
        local = at.astimezone(ZoneInfo(self.timezone)).time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


class Filters(Contract):
    """What an alert must match to reach a subscriber; an empty list means any."""

    categories: list[Category] = []
    subtypes: list[ShortText] = []
    min_severity: Severity = "info"
    regions: list[ShortText] = []
    rule_ids: list[Identifier] = []
    labels: dict[ShortText, ShortText] = {}
    quiet_hours: QuietHours | None = None

    @field_validator("regions")
    @classmethod
    def _canonical_regions(cls, value: list[str]) -> list[str]:
        """Store canonical names so routing compares like with like ("Харків" and "Kharkov" → "Kharkiv")."""
        return list(dict.fromkeys(canonical_region(name) for name in value))

    @field_validator("subtypes")
    @classmethod
    def _known_subtypes(cls, value: list[str]) -> list[str]:
        """Refuse a sub-type no alert can have now, not by never delivering."""
        return [known_subtype(name) for name in value]


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class Subscription(Contract):
    """A named subscriber; the name is its key on the compacted topic."""

    name: Identifier
    target: Target
    filters: Filters = Filters()
    enabled: bool = True
    rate_per_minute: Annotated[int, Field(ge=1, le=6_000)] = 60
    description: Annotated[str, Field(max_length=512)] = ""
    send_resolved: bool | None = None
    """Whether `resolved` versions go out, as in Alertmanager; unset means the channel's default: yes for
    Alertmanager (it needs them to end an alert), no for people's channels, where a night's final figures
    would be one more message about the same attack."""

    @model_validator(mode="after")
    def _name_is_a_key(self) -> Subscription:
        """Names appear in URLs, metric labels and topic keys: keep them to a safe alphabet."""
        if not _NAME.match(self.name):
            raise ValueError(f"name {self.name!r}: use letters, digits, '.', '_' or '-' (at most 128)")
        return self

    @property
    def channel(self) -> ChannelType:
        """The channel type, the key of the channel registry."""
        return self.target.type

    @property
    def wants_resolved(self) -> bool:
        """`send_resolved`, or the channel's default when it is unset."""
        return self.send_resolved if self.send_resolved is not None else self.channel == "alertmanager"

    def public(self) -> dict[str, Any]:
        """JSON for people (API, CLI): URLs masked with their host visible, other secrets hidden."""
        data = self.model_dump(mode="json")
        target = data["target"]
        for field in ("secret", "bearer_token"):
            if target.get(field):
                target[field] = MASK
        if "url" in target:
            target["url"] = mask_url(target["url"])
        return data
