"""Fixtures every test package shares: a real Tansu broker on a free port and Salvo settings for it."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from streams.broker import EmbeddedBroker, free_port, local_settings
from streams.demo import spawn_worker, stop_process
from streams.settings import SalvoSettings
from streams.topics import create_topics

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SALVO_DATA") or REPO.parent / "shared" / "data")  # the README's $SALVO_DATA


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """One real broker for the session; tests isolate themselves with a topic prefix (`salvo_settings`)."""
    with EmbeddedBroker(port=free_port()) as running:
        yield running


@pytest.fixture
def salvo_settings(broker: EmbeddedBroker, tmp_path: Path) -> SalvoSettings:
    """Settings for one test: its own topic prefix, app id, data dir and web port, topics created."""
    tag = uuid.uuid4().hex[:8]
    settings = local_settings(
        broker.bootstrap, app_id=f"salvo-test-{tag}", topic_prefix=f"t{tag}.", data_dir=tmp_path / "data"
    )
    create_topics(settings)
    return settings


@pytest.fixture
def shared_data() -> Path:
    """The real data beside the repository; tests that need it skip on a clone without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (only beside the team's checkout)")
    return SHARED_DATA


StartWorker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[StartWorker]:
    """Start real `salvo worker` processes; each is stopped at the end of the test (its log is in tmp_path).

    Call as `start_worker(settings)` (optionally `rules=Path`, and `env` for what SalvoSettings does not hold,
    such as the channels' `SALVO_EMAIL__*`); it returns once `/metrics` answers.
    """
    started: list[subprocess.Popen[bytes]] = []

    def start(
        settings: SalvoSettings, *, rules: Path | None = None, env: dict[str, str] | None = None,
        timeout_s: float = 60.0,
    ) -> subprocess.Popen[bytes]:  # fmt: skip
        if rules is not None:
            settings = settings.model_copy(update={"rules_file": rules})
        path = tmp_path / f"worker-{len(started)}.log"
        process = spawn_worker(settings, out=path.open("wb"), env=env)
        started.append(process)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert process.poll() is None, f"worker exited: {path.read_text()[-3000:]}"
            try:
                if httpx.get(f"http://127.0.0.1:{settings.web_port}/metrics", timeout=1).status_code == 200:
                    return process
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError("worker did not serve /metrics in time")

    yield start
    for process in started:
        stop_process(process)
