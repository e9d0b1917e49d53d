"""`DeadLetter`: a message Salvo could not process, kept whole with the reason (`deadletter` topic).

Nothing is silently dropped: the original bytes, where they came from and why they were refused are
enough to fix the producer and re-send.
"""

from __future__ import annotations

import base64
import hashlib
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
    IMPLAUSIBLE_TIME = "implausible_time"
    PROCESSING = "processing"


# The most of a refused payload a dead letter keeps. A letter must always fit in a record the producer
# accepts (1 MB by default), whatever was refused: a 5 MB message's letter was itself refused once, and
# lost. The size and digest of the whole payload stay, so the original can still be identified.
MAX_KEPT_BYTES = 64 * 1024


class DeadLetter(Contract):
    """A refused message: `value_b64` is the original bytes (base64, so any payload survives JSON), or their
    first `MAX_KEPT_BYTES` when `truncated`; `value_size` and `value_sha256` are of the whole payload."""

    topic: Annotated[str, Field(min_length=1, max_length=256)]
    partition: NonNegative | None = None
    offset: NonNegative | None = None
    key_b64: str | None = None
    value_b64: str
    value_size: NonNegative | None = None
    value_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    truncated: bool = False
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
        """Wrap raw bytes, truncating the payload and the error so a pathological message cannot break the
        contract or the producer's record limit."""
        return cls(
            topic=topic,
            partition=partition,
            offset=offset,
            key_b64=base64.b64encode(key[:MAX_KEPT_BYTES]).decode() if key is not None else None,
            value_b64=base64.b64encode(value[:MAX_KEPT_BYTES]).decode(),
            value_size=len(value),
            value_sha256=hashlib.sha256(value).hexdigest(),
            truncated=len(value) > MAX_KEPT_BYTES,
            reason=reason,
            error=error[:4_000],
            stage=stage,
            received_at=received_at,
        )

    @property
    def value(self) -> bytes:
        """The original message bytes (their first `MAX_KEPT_BYTES` when `truncated`)."""
        return base64.b64decode(self.value_b64)
