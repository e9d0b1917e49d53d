"""The shared base of every topic contract, so the unknown-field policy lives in one place.

Policy: Salvo's own topics (events, alerts, dead letters, subscriptions) forbid unknown fields, because
a field Salvo does not know there is a bug. Inbound feeds (news, strike reports) ignore unknown fields,
because producers outside Salvo add columns over time and that must not dead-letter a whole feed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Lang = Literal["en", "uk", "ru", "other"]
Category = Literal["attack", "talks", "statement", "other"]
Severity = Literal["info", "warning", "critical"]

SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}

ShortText = Annotated[str, Field(min_length=1, max_length=256)]
Identifier = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\s]+$")]
NonNegative = Annotated[int, Field(ge=0)]


class Contract(BaseModel):
    """Base for Salvo's own topics: strict, immutable, unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class FeedContract(BaseModel):
    """Base for inbound feeds: strict on types and bounds, tolerant of extra fields (see module doc)."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)
