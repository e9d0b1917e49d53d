"""`Subscription`: who receives which alerts, over which channel (`subscriptions` topic, compacted).

Channel targets are a discriminated union on `type`; each channel's delivery settings live in
`alerts/channels/<type>.py`, this contract only says where to deliver.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, HttpUrl, SecretStr

from schemas.base import Category, Contract, Identifier, Severity, ShortText


class WebhookTarget(Contract):
    """A JSON POST signed with HMAC-SHA256 (`X-Salvo-Signature`) using `secret`."""

    type: Literal["webhook"] = "webhook"
    url: HttpUrl
    secret: SecretStr
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 10.0


Target = Annotated[WebhookTarget, Field(discriminator="type")]


class Filters(Contract):
    """What an alert must match to reach a subscriber; empty means any."""

    categories: list[Category] = []
    subtypes: list[ShortText] = []
    min_severity: Severity = "info"
    regions: list[ShortText] = []
    rule_ids: list[Identifier] = []
    labels: dict[ShortText, ShortText] = {}


class Subscription(Contract):
    """A named subscriber; the name is its key on the compacted topic."""

    name: Identifier
    target: Target
    filters: Filters = Filters()
    enabled: bool = True
