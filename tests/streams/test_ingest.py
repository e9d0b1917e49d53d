"""Decoding raw bytes: every refusal carries a reason and names the failing field."""

from __future__ import annotations

from schemas import NewsItem, RejectReason
from streams.ingest import Rejection, decode

GOOD = b'{"id": "n", "source": "s", "published_at": "2026-01-01T00:00:00Z", "title": "t"}'


def test_valid_bytes_become_the_contract() -> None:
    item = decode(GOOD, NewsItem, max_bytes=1_000)
    assert isinstance(item, NewsItem) and item.title == "t"


def test_each_kind_of_bad_input_has_its_reason() -> None:
    cases = {
        None: RejectReason.MALFORMED,
        b"{not json": RejectReason.MALFORMED,
        b'{"id": "n", "source": "s", "title": "t"}': RejectReason.SCHEMA,
        GOOD + b" " * 2_000: RejectReason.OVERSIZED,
    }
    for raw, reason in cases.items():
        result = decode(raw, NewsItem, max_bytes=1_000)
        assert isinstance(result, Rejection) and result.reason is reason, raw


def test_schema_errors_name_the_field() -> None:
    result = decode(b'{"id": "n", "source": "s", "published_at": "2026-01-01T00:00:00", "title": ""}', NewsItem,
                    max_bytes=1_000)
    assert isinstance(result, Rejection)
    assert "published_at:" in result.error and "title:" in result.error
