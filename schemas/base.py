"""The shared base of every topic contract, so the unknown-field policy lives in one place.

Policy: Salvo's own topics (events, alerts, dead letters, subscriptions) forbid unknown fields, because
a field Salvo does not know there is a bug. Inbound feeds (news, strike reports) ignore unknown fields,
because producers outside Salvo add columns over time and that must not dead-letter a whole feed.
"""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, field_validator

Lang = Literal["en", "uk", "ru", "other"]
Category = Literal["attack", "talks", "statement", "other"]
Severity = Literal["info", "warning", "critical"]

SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}

ShortText = Annotated[str, Field(min_length=1, max_length=256)]
Identifier = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\s]+$")]
NonNegative = Annotated[int, Field(ge=0)]


def web_url(value: str) -> str:
    """`value` as a normalised http(s) URL, or a ValueError: feed URLs become links in alerts, and a link is
    only ever built from one of these (no `javascript:`, no `>` or `|` to break out of Slack's `<url|label>`:
    the parser percent-encodes what a URL may not hold)."""
    return str(HttpUrl(value))


WebUrl = Annotated[str, Field(max_length=2_048), AfterValidator(web_url)]


def iana_zone(value: str) -> str:
    """`value` if it names an IANA time zone: an unknown one would silently never match, or print wrong."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {value!r}: use an IANA name such as 'Europe/Kyiv'") from error
    return value


TimeZone = Annotated[str, AfterValidator(iana_zone)]

# Upper bounds on counts, so that a report of 10^18 drones is refused rather than paged. A strike report's
# counts are per weapon model and night: the largest row in the Air Force's history (2022-09 → 2026-06) has
# 810 launched, so 10,000 is far beyond any real one. Facts read from text may be war totals ("more than
# 100,000 killed"), so they go to a million; the extractor reads a larger number as no count at all.
MAX_REPORTED = 10_000
MAX_FACT = 1_000_000
Reported = Annotated[int, Field(ge=0, le=MAX_REPORTED)]
FactCount = Annotated[int, Field(ge=0, le=MAX_FACT)]

# Characters no feed text needs and that can hide or reorder what an operator reads: C0 controls but tab,
# newline and carriage return; DEL and C1; the bidirectional embeddings, overrides and isolates
# (U+202A-U+202E, U+2066-U+2069), which make "gpj.exe" read as "exe.jpg".
_INVISIBLE = dict.fromkeys(
    [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F),
     *range(0x2066, 0x206A)]
)


class Contract(BaseModel):
    """Base for Salvo's own topics: strict, immutable, unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class FeedContract(BaseModel):
    """Base for inbound feeds: strict on types and bounds, tolerant of extra fields (see module doc)."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _strip_controls(cls, value: object) -> object:
        """Feed text is untrusted: control characters are stripped from every text field (lists included),
        and a text that held nothing else is refused like an empty one."""
        if isinstance(value, str):
            return _visible(value)
        if isinstance(value, list):
            return [_visible(item) if isinstance(item, str) else item for item in value]
        return value


def _visible(value: str) -> str:
    """`value` without the control characters above (a no-op for ordinary text, and cheap)."""
    cleaned = value.translate(_INVISIBLE).strip()
    if value and not cleaned:
        raise ValueError("text holds only control characters")
    return cleaned
