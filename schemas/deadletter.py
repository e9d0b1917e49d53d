"""`DeadLetter`: a message Salvo could not process, kept whole with the reason (`deadletter` topic).

Nothing is silently dropped: the original bytes, where they came from and why they were refused are
enough to fix the producer and re-send.
"""

from __future__ import annotations

import base64
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field

from schemas.base import Contract, NonNegative


class RejectReason(StrEnum):
    """Why a message was refused; also the `reason` label of the dead-letter metric."""

    MALFORMED = "malformed"
    SCHEMA = "schema"
    OVERSIZED = "oversized"
    PROCESSING = "processing"


class DeadLetter(Contract):
    """A refused message: `value_b64` is the original bytes, base64 so any payload survives JSON."""

    topic: Annotated[str, Field(min_length=1, max_length=256)]
    partition: NonNegative | None = None
    offset: NonNegative | None = None
    key_b64: str | None = None
    value_b64: str
    reason: RejectReason
    error: Annotated[str, Field(max_length=4_000)]
    stage: Annotated[str, Field(min_length=1, max_length=64)]
    received_at: AwareDatetime

    @classmethod
    def of(
        cls,
        value: bytes,
        *,
        topic: str,
        reason: RejectReason,
        error: str,
        stage: str,
        received_at: datetime,
        partition: int | None = None,
        offset: int | None = None,
        key: bytes | None = None,
    ) -> DeadLetter:
        """Wrap raw bytes, truncating the error so a pathological message cannot break the contract."""
        return cls(
            topic=topic,
            partition=partition,
            offset=offset,
            key_b64=base64.b64encode(key).decode() if key is not None else None,
            value_b64=base64.b64encode(value).decode(),
            reason=reason,
            error=error[:4_000],
            stage=stage,
            received_at=received_at,
        )

    @property
    def value(self) -> bytes:
        """The original message bytes."""
        return base64.b64decode(self.value_b64)
