"""Tests of alerts/signing.py: the signature a receiver verifies."""

from __future__ import annotations

from alerts.signing import sign, verify

BODY = b'{"alert":{"id":"a"}}'


def test_a_signed_body_verifies_within_tolerance() -> None:
    header = sign(BODY, secret="s3cret", timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify(BODY, header, secret="s3cret", now=1_700_000_100)


def test_tampering_wrong_secret_and_stale_timestamps_fail() -> None:
    header = sign(BODY, secret="s3cret", timestamp=1_700_000_000)
    assert not verify(BODY + b" ", header, secret="s3cret", now=1_700_000_000)
    assert not verify(BODY, header, secret="other", now=1_700_000_000)
    assert not verify(BODY, header, secret="s3cret", now=1_700_000_301)
    assert not verify(BODY, "garbage", secret="s3cret", now=1_700_000_000)


def test_the_readme_snippet_verifies_what_salvo_signs() -> None:
    """The README's dependency-free receiver code must accept Salvo's headers."""
    import hashlib
    import hmac

    def readme_verify(body: bytes, header: str, secret: str, now: float) -> bool:
        parts = dict(p.split("=", 1) for p in header.split(","))
        expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
        return abs(now - int(parts["t"])) <= 300 and hmac.compare_digest(expected, parts["v1"])

    assert readme_verify(BODY, sign(BODY, secret="k", timestamp=10), "k", now=20)
