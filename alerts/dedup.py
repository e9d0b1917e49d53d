"""Exact repeats: an event seen again with the same content is dropped before any rule counts it.

Repeats come from overlapping feed files (the two Guardian collections), a file replayed twice, and an ingest
worker that crashed after forwarding an item but before committing it. They must not count twice, live or in a
backtest, so the check lives in the engine, on event time: the engine keeps, per hour of event time, the
content digest of every event id it applied (`seen|HOUR`), for `horizon` behind the watermark, and the span
of hours kept (`seen`, as `windows.span_with`). The digest
leaves out what ingest adds (`ingested_at`, `origin`, `replay`), so a re-ingested item is still a repeat; a
changed item under the same id is new content and counts.
"""

from __future__ import annotations

import hashlib
from typing import Any

from schemas.event import ClassifiedEvent

BUCKET = 3600
INDEX = "seen"
_INGEST_FIELDS = {"ingested_at", "origin", "replay"}


def digest(event: ClassifiedEvent) -> str:
    """A short digest of what the source said, not of when or where Salvo read it."""
    content = event.model_dump_json(exclude=_INGEST_FIELDS)
    return hashlib.blake2b(content.encode(), digest_size=12).hexdigest()


def hour(t: int) -> int:
    """The start of the hour of event time `t` (Unix seconds)."""
    return t // BUCKET * BUCKET


def bucket_key(t: int) -> str:
    """The state key of the hour of event time `t`."""
    return f"seen|{hour(t)}"




def repeated(bucket: dict[str, str] | None, event_id: str, content: str) -> bool:
    """True when this id was applied before with the same digest."""
    return bucket is not None and bucket.get(event_id) == content


def recorded(bucket: dict[str, str] | None, event_id: str, content: str) -> dict[str, Any]:
    """A new bucket with this event's digest (a copy, to assign back)."""
    return {**(bucket or {}), event_id: content}
