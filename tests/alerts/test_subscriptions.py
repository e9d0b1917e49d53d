"""Tests of alerts/subscriptions.py and the Subscription contract: who an alert reaches, and why."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from pydantic import ValidationError

from alerts.silences import new_silence
from alerts.subscriptions import Verdict, route
from schemas.delivery import Matcher
from schemas.secrets import SEAL, Sealer
from schemas.subscription import QuietHours, Subscription
from tests.alerts.conftest import SECRET, T0, make_alert, make_subscription


def test_every_filter_must_match_and_reasons_say_why() -> None:
    alert = make_alert()
    subs = [
        make_subscription("all"),
        make_subscription("kharkiv", filters={"regions": ["kharkiv"], "min_severity": "warning"}),
        make_subscription("lviv", filters={"regions": ["Lviv"]}),
        make_subscription("talks", filters={"categories": ["talks"]}),
        make_subscription("missile", filters={"subtypes": ["missile_strike"]}),
        make_subscription("rule", filters={"rule_ids": ["mass-drone-attack"], "labels": {"team": "ops"}}),
        make_subscription("other-team", filters={"labels": {"team": "sre"}}),
        make_subscription("off", enabled=False),
    ]
    decisions = {d.subscription: d for d in route(alert, subs, [], now=T0)}
    assert {name for name, d in decisions.items() if d.deliver} == {"all", "kharkiv", "rule"}
    assert "region Kharkiv in filter" in decisions["kharkiv"].reasons
    assert decisions["lviv"].reasons == ("region Kharkiv, Sumy not in Lviv",)
    assert decisions["other-team"].reasons == ("label team=ops is not sre",)
    assert decisions["off"].verdict is Verdict.DISABLED


def test_min_severity_filters_lower_alerts() -> None:
    sub = make_subscription(filters={"min_severity": "critical"})
    (decision,) = route(make_alert(severity="warning"), [sub], [], now=T0)
    assert decision.verdict is Verdict.FILTERED
    assert decision.reasons == ("severity warning below critical",)


def test_an_active_matching_silence_mutes_visibly_and_expires() -> None:
    silence = new_silence(
        [Matcher.parse("region=Kharkiv")], duration=timedelta(hours=2), comment="drill", now=T0,
        spanning=True,  # the alert names Sumy too
    )
    sub = make_subscription()
    (muted,) = route(make_alert(), [sub], [silence], now=T0 + timedelta(hours=1))
    assert muted.verdict is Verdict.SILENCED
    assert silence.id in muted.reasons[0] and "drill" in muted.reasons[0]
    (later,) = route(make_alert(), [sub], [silence], now=T0 + timedelta(hours=2))
    assert later.deliver


def test_quiet_hours_span_midnight_and_let_critical_through() -> None:
    quiet = QuietHours(start=time(22), end=time(7), timezone="Europe/Kyiv", except_severity="critical")
    sub = make_subscription(filters={"quiet_hours": quiet.model_dump()})
    night = T0.replace(hour=1)  # 04:00 in Kyiv
    (warning,) = route(make_alert(severity="warning"), [sub], [], now=night)
    assert warning.verdict is Verdict.QUIET_HOURS
    (critical,) = route(make_alert(severity="critical"), [sub], [], now=night)
    assert critical.deliver
    (day,) = route(make_alert(severity="warning"), [sub], [], now=T0.replace(hour=9))
    assert day.deliver


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"type": "webhook", "url": "not a url", "secret": SECRET}, "valid URL"),
        (
            {"type": "webhook", "url": "ftp://x.org/a", "secret": SECRET},
            "URL scheme should be 'http' or 'https'",
        ),
        ({"type": "webhook", "url": "https://x.org/a", "secret": "short"}, "at least 16"),
        ({"type": "slack", "url": "hooks.slack.com/services/x"}, "valid URL"),
        ({"type": "email", "to": ["not-an-address"]}, "should match pattern"),
        ({"type": "kafka", "topic": "alerts"}, "one of Salvo's own topics"),
        ({"type": "pager", "url": "https://x.org"}, "does not match any of the expected tags"),
    ],
)
def test_bad_targets_are_refused_with_a_clear_error(target: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Subscription.model_validate({"name": "bad", "target": target})


def test_unknown_regions_are_refused_and_known_ones_made_canonical() -> None:
    with pytest.raises(ValidationError, match="unknown region 'Atlantis'"):
        make_subscription(filters={"regions": ["Atlantis"]})
    regions = ["kharkiv", "Харків", "Kharkov", "Київщина"]
    assert make_subscription(filters={"regions": regions}).filters.regions == ["Kharkiv", "Kyiv"]


def test_unknown_subtypes_are_refused_with_the_known_ones() -> None:
    with pytest.raises(ValidationError, match="unknown sub-type 'drone': one of .*drone_strike"):
        make_subscription(filters={"subtypes": ["drone"]})
    assert make_subscription(filters={"subtypes": ["drone_strike"]}).filters.subtypes == ["drone_strike"]


def test_public_view_masks_secrets_while_the_sealed_topic_form_round_trips() -> None:
    sub = make_subscription(url="https://ops.example.org/hooks/k3y-abcdef?token=tok-123456")
    shown = sub.public()["target"]
    assert (shown["secret"], shown["url"]) == ("****", "https://ops.example.org/hooks/k3…/****")
    sealing = {SEAL: Sealer(Sealer.new_key())}
    stored = sub.model_dump_json(context=sealing)
    assert SECRET not in stored and "k3y-abcdef" not in stored and "tok-123456" not in stored
    again = Subscription.model_validate_json(stored, context=sealing)
    assert again.target.secret.get_secret_value() == SECRET and again == sub


# Every topic Salvo reads or writes, as named, under a prefix, and Faust's and Kafka's internal ones.
SALVO_TOPICS = [
    "news.raw", "strikes.raw", "events.classified", "events.late", "alerts", "control", "deliveries.log",
    "deadletter", "subscriptions", "silences", "t1.alerts", "prod-control", "prod_deadletter", "x.news.raw",
    "prodalerts", "ops.events", "salvo-outbox-changelog", "salvo-rules-state-changelog",
    "salvo-__assignor-__leader", "salvo-x-repartition", "__consumer_offsets", "other.late",
    "stage.deliveries", "backup.subscriptions", "t9.silences", "feeds.raw",
]  # fmt: skip


@pytest.mark.parametrize("topic", SALVO_TOPICS)
def test_kafka_targets_may_not_name_a_salvo_topic(topic: str) -> None:
    with pytest.raises(ValidationError, match="choose another name"):
        Subscription.model_validate({"name": "k", "target": {"type": "kafka", "topic": topic}})


@pytest.mark.parametrize("topic", ["alerts.analytics", "newsroom", "analytics.alerting", "ops.feed"])
def test_kafka_targets_of_their_own_are_accepted(topic: str) -> None:
    Subscription.model_validate({"name": "k", "target": {"type": "kafka", "topic": topic}})


def test_a_secret_is_never_written_in_clear_without_a_key() -> None:
    with pytest.raises(ValueError, match="set SALVO_SECRETS_KEY"):
        make_subscription().model_dump_json(context={SEAL: None})
    sealed = make_subscription().model_dump_json(context={SEAL: Sealer(Sealer.new_key())})
    with pytest.raises(ValidationError, match="does not open"):
        Subscription.model_validate_json(sealed, context={SEAL: Sealer(Sealer.new_key())})
    old, new = Sealer.new_key(), Sealer.new_key()
    sealed = make_subscription().model_dump_json(context={SEAL: Sealer(old)})
    rotating = {SEAL: Sealer(f"{new},{old}")}  # the new key seals, the old one still opens
    assert Subscription.model_validate_json(sealed, context=rotating) == make_subscription()
