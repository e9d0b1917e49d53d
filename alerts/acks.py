"""Acknowledgements: someone on the desk took an incident, so its repeats and escalations stop paging.

Alertmanager leaves this to the pager; Salvo's desk asked for it in Salvo, because one attack night grows in
versions all night ("375 drones", then 600, then critical) and each one paged again. An `Ack` holds every
later version of its incident for every subscriber, and the hold is written to the delivery log with who
acknowledged and why, like a silence. The `resolved` version still goes out (to whoever asks for resolved
versions): the desk must learn the incident is over.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from schemas.alert import Alert
from schemas.delivery import Ack


def holding(alert: Alert, acks: Mapping[str, Ack]) -> Ack | None:
    """The acknowledgement that holds this alert version back, or None."""
    ack = acks.get(alert.id)
    if ack is None or alert.status == "resolved" or alert.version <= ack.version:
        return None
    return ack


def acknowledge(incident: Alert, *, by: str, comment: str, now: datetime) -> Ack:
    """An acknowledgement of the incident's latest version."""
    return Ack(incident=incident.id, version=incident.version, at=now, by=by, comment=comment)


def reason(ack: Ack) -> str:
    """How a held delivery reads in the delivery log and in `salvo route`."""
    said = f": {ack.comment}" if ack.comment else ""
    return f"acknowledged by {ack.by} at {ack.at.isoformat(timespec='minutes')} (v{ack.version}){said}"
