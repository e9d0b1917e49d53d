"""`Alert`: a rule's verdict on the `alerts` topic, versioned so updates never look like new alerts.

`id` is deterministic (rule, group key, window or incident), so a repeated computation after a crash
produces the same alert, and subscribers dedupe on `(id, version)`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from schemas.base import Category, Contract, Identifier, Severity, ShortText
from schemas.event import Evidence, Facts, Replay

AlertStatus = Literal["firing", "updated", "resolved"]


class Alert(Contract):
    """One version of an alert; a larger count or higher severity is a new version of the same id."""

    id: Identifier
    version: Annotated[int, Field(ge=1)] = 1
    status: AlertStatus = "firing"
    rule_id: Identifier
    severity: Severity
    title: Annotated[str, Field(min_length=1, max_length=512)]
    summary: Annotated[str, Field(max_length=4_000)] = ""
    group_key: Annotated[str, Field(max_length=512)] = ""
    labels: dict[ShortText, Annotated[str, Field(max_length=256)]] = {}
    category: Category | None = None
    subtypes: list[ShortText] = []
    facts: Facts = Facts()
    value: float | None = None
    threshold: float | None = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    event_ids: Annotated[list[Identifier], Field(max_length=256)] = []
    sources: Annotated[list[Annotated[str, Field(max_length=2_048)]], Field(max_length=64)] = []
    first_ingested_at: AwareDatetime | None = None
    replay: Replay | None = None
    evidence: Annotated[list[Evidence], Field(max_length=16)] = []
    """The spans of the report's text that decided its classification and counts: why it fired."""

    @property
    def key(self) -> str:
        """The idempotency key of this version: what a subscriber dedupes on."""
        return f"{self.id}:v{self.version}"
