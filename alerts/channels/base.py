"""What every channel shares: the envelope it sends, its one failure type and HTTP status classification.

Classification lives here once (Alertmanager's `Retrier`), but unlike Alertmanager every channel retries 429
and honours `Retry-After`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from alerts.egress import TargetRefused
from schemas.alert import Alert
from schemas.delivery import FailureReason
from schemas.errors import SalvoError
from schemas.subscription import Subscription

_RETRYABLE = frozenset({FailureReason.SERVER, FailureReason.RATE_LIMITED, FailureReason.TIMEOUT})
REDACTED = "<redacted>"


class ChannelError(SalvoError):
    """A send failed. If `retryable`, Salvo retries (after `retry_after` seconds at least); otherwise fix
    the subscription (URL, credentials, address) named in the message and redrive the dead letter."""

    def __init__(self, step: str, detail: str, *, reason: FailureReason, retry_after: float | None = None):
        super().__init__(f"{step}: {detail}")
        self.step = step
        self.reason = reason
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """Server trouble, timeouts and 429 pass; the receiver refusing the request does not."""
        return self.reason in _RETRYABLE


@dataclass(frozen=True)
class Envelope:
    """One alert version on its way to one subscription; `idempotency_key` is the same on every repeat."""

    alert: Alert
    subscription: Subscription
    idempotency_key: str
    now: datetime


class Channel(Protocol):
    """A receiver integration: one async `send` that returns on success and raises `ChannelError`."""

    async def send(self, envelope: Envelope) -> None: ...


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret (URL, token, password) replaced, longest first so parts don't leak."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header: delay-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def classify_status(status: int) -> FailureReason | None:
    """The failure reason of an HTTP status, or None for success (2xx)."""
    if 200 <= status < 300:
        return None
    if status == 429:
        return FailureReason.RATE_LIMITED
    if status in (401, 403):
        return FailureReason.AUTH
    if status == 408:
        return FailureReason.TIMEOUT
    if status >= 500:
        return FailureReason.SERVER
    return FailureReason.CLIENT


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    content: bytes,
    headers: Mapping[str, str],
    timeout_s: float,
    step: str,
    secrets: Iterable[str | None],
    now: datetime,
) -> httpx.Response:
    """POST JSON bytes and raise a classified, redacted `ChannelError` unless the answer is 2xx.

    The error holds the status, never the receiver's body: `salvo subscribe test` shows it to whoever asked,
    and a target that is some internal service would otherwise answer them through Salvo. A target the
    egress policy refuses at connect time is a client error: retrying cannot change where it points.
    """
    hidden = [url, *secrets]
    try:
        response = await client.post(
            url,
            content=content,
            headers={"Content-Type": "application/json", **headers},
            timeout=timeout_s,
        )
    except TargetRefused as refused:
        raise ChannelError(step, f"target refused: {refused.reason}", reason=FailureReason.CLIENT) from None
    except httpx.InvalidURL:
        raise ChannelError(step, "the target URL is not one httpx can send to", reason=FailureReason.CLIENT) from None
    except httpx.TimeoutException:
        raise ChannelError(step, f"timed out after {timeout_s}s", reason=FailureReason.TIMEOUT) from None
    except httpx.HTTPError as error:
        detail = redact(f"{type(error).__name__}: {error}", hidden)
        raise ChannelError(step, detail, reason=FailureReason.SERVER) from None
    reason = classify_status(response.status_code)
    if reason is not None:
        raise ChannelError(
            step,
            f"HTTP {response.status_code}",
            reason=reason,
            retry_after=parse_retry_after(response.headers.get("Retry-After"), now=now),
        )
    return response


def alert_json(alert: Alert) -> dict[str, Any]:
    """The alert as JSON-compatible data, the common core of every payload."""
    return alert.model_dump(mode="json")
