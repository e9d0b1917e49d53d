"""Fixtures every test package shares: a real Tansu broker on a free port and Salvo settings for it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.broker import EmbeddedBroker, free_port
from streams.settings import SalvoSettings
from streams.topics import create_topics

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """One real broker for the session; tests isolate themselves with a topic prefix (`salvo_settings`)."""
    with EmbeddedBroker(port=free_port()) as running:
        yield running


@pytest.fixture
def salvo_settings(broker: EmbeddedBroker, tmp_path: Path) -> SalvoSettings:
    """Settings for one test: its own topic prefix, app id, data dir and web port, topics created."""
    tag = uuid.uuid4().hex[:8]
    settings = SalvoSettings(
        app_id=f"salvo-test-{tag}",
        bootstrap_servers=broker.bootstrap,
        topic_prefix=f"t{tag}.",
        partitions=2,
        store="memory://",
        data_dir=tmp_path / "data",
        web_port=free_port(),
        producer_max_batch_size=1,
        session_timeout_s=6.0,
        heartbeat_interval_s=1.0,
        tick_interval_s=1.0,
    )
    create_topics(settings)
    return settings


@pytest.fixture
def shared_data() -> Path:
    """The real data beside the repository; tests that need it skip on a clone without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (only beside the team's checkout)")
    return SHARED_DATA
