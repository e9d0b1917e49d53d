"""Signed incident links: the link in a message opens that one incident without the API token.

Why: a desk reads alerts on a phone, and the incident link in Slack or e-mail answered 401 there, since the
API wants `Authorization: Bearer <SALVO_API_TOKEN>` and a browser sends none. A link now carries
`?sig=<HMAC-SHA256 of the incident id>` keyed by the API token: it opens read-only the incident it was made
for (its latest version and acknowledgement, not its deliveries, which name subscriptions), nothing else, and
rotating the token revokes every link at once. Anyone the message reaches can open its incident, which is what
a link in a message is for.
"""

from __future__ import annotations

import hashlib
import hmac

_CONTEXT = "salvo incident link\x1f"  # keeps these signatures apart from any other use of the token


def signature(alert_id: str, key: str) -> str:
    """The link signature of one incident: 32 hex characters (128 bits)."""
    return hmac.new(key.encode(), (_CONTEXT + alert_id).encode(), hashlib.sha256).hexdigest()[:32]


def signed(alert_id: str, sig: str, key: str) -> bool:
    """Whether `sig` is this incident's signature under `key` (in constant time)."""
    return hmac.compare_digest(signature(alert_id, key).encode(), sig.encode())
