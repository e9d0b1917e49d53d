"""Decoding raw topic bytes into a contract, or a rejection that says why: never an exception.

Every malformed, invalid or oversized message becomes a `Rejection`, which the worker turns into a dead
letter; keeping this pure lets the replay and tests use exactly the worker's rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from schemas import RejectReason

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Rejection:
    """Why a message was refused, with the field that failed where there is one."""

    reason: RejectReason
    error: str


def describe(exc: PydanticValidationError) -> tuple[RejectReason, str]:
    """A short reason and a message naming each failing field, e.g. `published_at: Input should have timezone`."""
    errors = exc.errors(include_url=False)
    if any(err["type"] == "json_invalid" for err in errors):
        return RejectReason.MALFORMED, "; ".join(err["msg"] for err in errors)
    parts = [f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in errors]
    return RejectReason.SCHEMA, "; ".join(parts)


def decode(raw: bytes | None, contract: type[M], *, max_bytes: int) -> M | Rejection:
    """Validate one message against its topic's contract."""
    if raw is None:
        return Rejection(RejectReason.MALFORMED, "empty message (null value)")
    if len(raw) > max_bytes:
        return Rejection(
            RejectReason.OVERSIZED, f"message of {len(raw)} bytes exceeds the limit of {max_bytes}"
        )
    try:
        return contract.model_validate_json(raw)
    except PydanticValidationError as exc:
        reason, error = describe(exc)
        return Rejection(reason, error)
