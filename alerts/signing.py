"""HMAC-SHA256 signatures of webhook bodies (`X-Salvo-Signature: t=<unix seconds>,v1=<hex>`).

The signed message is `f"{t}.".encode() + body`: binding the timestamp stops a captured request from being
replayed later, and signing the raw bytes means receivers verify before parsing. `v1` names the scheme so a
future one can be sent alongside during a secret or algorithm rotation.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Salvo-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TOLERANCE_S = 300


def signature(body: bytes, *, secret: str, timestamp: int) -> str:
    """The hex HMAC-SHA256 of `"{timestamp}." + body` under `secret`."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(body: bytes, *, secret: str, timestamp: int) -> str:
    """The `X-Salvo-Signature` header value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},v1={signature(body, secret=secret, timestamp=timestamp)}"


def verify(
    body: bytes, header: str, *, secret: str, now: float, tolerance_s: float = DEFAULT_TOLERANCE_S
) -> bool:
    """True when `header` signs `body` with `secret` and its timestamp is within `tolerance_s` of `now`.

    This is what a receiver runs (the README has a dependency-free copy); constant-time comparison.
    """
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(body, secret=secret, timestamp=timestamp)
    return hmac.compare_digest(expected, parts.get("v1", ""))
