"""Secrets in contracts: how they are typed, masked for people, and sealed at rest on the subscriptions topic.

A webhook URL (with its path and query keys), a Slack hook URL, a signing secret and a bearer token are each
a credential. They are `SecretStr`, so a `repr` or a log line shows `**********`; people see URLs through
`mask_url`, which keeps the host (where it points) and hides the rest. On the compacted topic they are
sealed with Fernet (AES-128-CBC + HMAC-SHA256) under `SALVO_SECRETS_KEY`: anyone who can read the topic
sees `sealed:v1:…`, and only a worker with the key can send. Sealing is chosen by passing a `Sealer` in the
serialisation context (`SEAL`); without one a dump is in clear, which is what in-process code needs (merge
patches, the API's own checks), and nothing else writes the topic.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    HttpUrl,
    PlainSerializer,
    SecretStr,
    SerializationInfo,
    ValidationInfo,
)

from schemas.errors import SalvoError

SEAL = "salvo_sealer"
SEALED_PREFIX = "sealed:v1:"
MASK = "****"


class SecretsKeyError(SalvoError, ValueError):
    """A sealed secret cannot be opened, or one must be sealed and no key is set: give the worker the
    SALVO_SECRETS_KEY it was written with (several, comma-separated, while rotating)."""


class Sealer:
    """Seals and opens secrets with the keys of `SALVO_SECRETS_KEY`: the first seals, any of them opens.

    :param keys: comma-separated Fernet keys (`salvo secrets key` prints a new one).
    """

    def __init__(self, keys: str) -> None:
        try:
            from cryptography.fernet import Fernet, MultiFernet
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise SecretsKeyError("sealing secrets needs cryptography: pip install cryptography") from exc
        try:
            self._fernet = MultiFernet([Fernet(key.strip()) for key in keys.split(",") if key.strip()])
        except ValueError as error:
            raise SecretsKeyError(f"SALVO_SECRETS_KEY is not a list of Fernet keys: {error}") from None

    @staticmethod
    def new_key() -> str:
        """A fresh random key, for `SALVO_SECRETS_KEY`."""
        from cryptography.fernet import Fernet

        return Fernet.generate_key().decode()

    def seal(self, secret: str) -> str:
        """The text stored in place of `secret`."""
        return SEALED_PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """The secret inside `sealed`; SecretsKeyError if no key opens it."""
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(sealed.removeprefix(SEALED_PREFIX).encode()).decode()
        except InvalidToken:
            raise SecretsKeyError("a sealed secret does not open with SALVO_SECRETS_KEY") from None


def _sealer(context: Any) -> Sealer | None:
    return context.get(SEAL) if isinstance(context, dict) else None


def _dump(value: SecretStr, info: SerializationInfo) -> str:
    """Clear in process; sealed when the caller writes the topic (`SEAL` in the context), and refused there
    when the worker has no key: a secret is never written in clear."""
    if not (isinstance(info.context, dict) and SEAL in info.context):
        return value.get_secret_value()
    sealer = _sealer(info.context)
    if sealer is None:
        raise SecretsKeyError("set SALVO_SECRETS_KEY on the worker: subscription secrets are sealed at rest")
    return sealer.seal(value.get_secret_value())


def _load(value: Any, info: ValidationInfo) -> Any:
    """Open a sealed value read from the topic with the context's `Sealer`."""
    if isinstance(value, str) and value.startswith(SEALED_PREFIX):
        sealer = _sealer(info.context)
        if sealer is None:
            raise SecretsKeyError("a sealed secret needs SALVO_SECRETS_KEY to be read")
        return sealer.open(value)
    return value


def _http_url(value: SecretStr) -> SecretStr:
    """Refuse anything that is not an http(s) URL at subscription time, not at the first alert."""
    HttpUrl(value.get_secret_value())
    return value


Secret = Annotated[
    SecretStr, BeforeValidator(_load), PlainSerializer(_dump, when_used="json")
]
SecretUrl = Annotated[Secret, AfterValidator(_http_url)]


def mask_url(url: str) -> str:
    """`url` with where it points visible and its credentials hidden.

    The scheme, host and port stay, and the first path segment when there are several (`/services`); the
    next segment keeps two characters; everything after, the query and any user info are `****`:
    `https://hooks.slack.com/services/T0…/****`.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
    origin = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    segments = [segment for segment in parts.path.split("/") if segment]
    shown = segments[:1] if len(segments) > 1 else []
    hidden = segments[len(shown):]
    if hidden:
        shown.append(hidden[0][:2] + "…")
    if hidden or parts.query or parts.fragment or parts.username:
        shown.append(MASK)
    return "/".join([origin, *shown])
