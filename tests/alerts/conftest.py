"""Fixtures of the alerts tests: the shared channel helpers, plus alert and subscription builders."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from schemas.alert import Alert
from schemas.event import Facts
from schemas.subscription import Subscription
from tests.alerts.channels.fixtures import receiver  # noqa: F401  (fixture)

T0 = datetime(2026, 5, 13, 3, 0, tzinfo=UTC)
SECRET = "whsec-0123456789abcdef"


def make_alert(**changes: Any) -> Alert:
    """A realistic drone-attack alert; keyword arguments replace fields."""
    base: dict[str, Any] = {
        "id": "mass-drone-attack:kharkiv:2026-05-13",
        "version": 1,
        "rule_id": "mass-drone-attack",
        "severity": "critical",
        "title": "Mass drone attack on Kharkiv",
        "summary": "753 Shahed-type drones launched overnight; Kharkiv and Sumy hit.",
        "group_key": "Kharkiv",
        "labels": {"team": "ops"},
        "category": "attack",
        "subtypes": ["drone_strike"],
        "facts": Facts(drones=753, killed=2, injured=11, regions=["Kharkiv", "Sumy"]),
        "value": 753,
        "threshold": 100,
        "starts_at": T0,
        "sources": ["https://t.me/kpszsu/12345"],
        "first_ingested_at": T0,
    }
    base.update(changes)
    return Alert(**base)


def make_subscription(
    name: str = "ops", url: str = "http://127.0.0.1:9/hook", **changes: Any
) -> Subscription:
    """A webhook subscription to `url`; keyword arguments replace fields (dicts allowed)."""
    data: dict[str, Any] = {"name": name, "target": {"type": "webhook", "url": url, "secret": SECRET}}
    data.update(changes)
    return Subscription.model_validate(data)


@pytest.fixture
def alert() -> Alert:
    return make_alert()
