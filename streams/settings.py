"""Process configuration for every Salvo command: environment variables `SALVO_*`, overridable by flags."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from alerts.egress import TargetPolicy
from schemas.secrets import Sealer
from streams.plausible import DEFAULT_BOUNDS, TimeBounds


class SalvoSettings(BaseSettings):
    """Frozen once built, so every component of one process sees the same configuration.

    :param bootstrap_servers: Kafka bootstrap list; the embedded broker listens on 127.0.0.1:9092.
    :param topic_prefix: prepended to every topic name, to run several pipelines (or a replay) on one cluster.
    :param partitions: partition count of the raw topics; rules and alerts stay at one partition so that
        every rule sees one event-time order (see README, "How it flows").
    :param store: Faust table store; `rocksdb://` keeps window and outbox state across restarts.
    :param producer_max_batch_size: the producer's batch size in bytes, faust's default when unset; `1` (one
        record per batch) was the embedded broker's workaround for short changelog recovery, which Salvo's
        transport now reads to the true end (streams.worker.transport).
    :param dedup_horizon_s: how far behind the watermark, in event time, an exact repeat of an applied event
        is still recognised as one (older repeats are late in any case).
    :param batch_max: the most records a stage takes from its stream at once; its state is written back
        once per batch (see `streams.worker.rules`).
    :param batch_wait_s: how long a stage waits for a batch to fill. The default, 0, takes what is queued
        after one turn of the event loop: under load the queue fills while the previous batch is processed,
        so batches grow by themselves, and a quiet stream's record waits for nothing (a fixed 5 ms cost
        about 5 ms on each of the three hops of an alert, measured).
    :param classifier: `fast` (the linear model alone) or `accurate` (the items it is unsure of also go through
        a pretrained multilingual encoder, `streams.classify.encoder`; needs `salvo[accurate]`, and the worker
        refuses to start without it). `salvo classify`, `salvo eval` and `salvo backtest` read the same variable.
    :param fetch_max_wait_ms: the consumer's fetch wait (faust hard-codes 1.5 s, which a broker may spend on
        every hop when little data is there).
    :param max_event_ahead_s: how far ahead of the wall clock an item's event time may be (clock skew, time
        zones written wrong); beyond it the item is dead-lettered as `implausible_time`.
    :param event_time_floor: the earliest event time believed; an earlier one is `implausible_time` too.
    :param allowed_target_networks: comma-separated networks (`127.0.0.1/32,10.1.2.0/24`) that webhook,
        Slack and Alertmanager targets may reach although they are not public; empty (the default) opens
        none (`alerts.egress`).
    :param secrets_key: Fernet key(s) that seal subscription secrets on the subscriptions topic, the first
        sealing and every one opening (rotation); without it no subscription with a secret can be stored.
    """

    model_config = SettingsConfigDict(env_prefix="SALVO_", frozen=True, extra="ignore")

    app_id: str = "salvo"
    bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    partitions: int = Field(default=4, ge=1, le=256)
    replication_factor: int = Field(default=1, ge=1)
    store: str = "rocksdb://"
    data_dir: Path = Path(".salvo")
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=0, le=65535)
    rules_file: Path | None = None
    allowed_lateness_s: float = Field(default=3600.0, ge=0)
    idle_origin_s: float = Field(default=300.0, gt=0)
    start_hold_s: float = Field(default=30.0, ge=0)
    tick_interval_s: float = Field(default=5.0, gt=0)
    lag_interval_s: float = Field(default=15.0, gt=0)
    dedup_horizon_s: float = Field(default=7 * 86400.0, ge=0)
    batch_max: int = Field(default=500, ge=1)
    batch_wait_s: float = Field(default=0.0, ge=0)
    fetch_max_wait_ms: int = Field(default=10, ge=0, le=60_000)
    max_message_bytes: int = Field(default=1_000_000, ge=1_024)
    max_event_ahead_s: float = Field(default=DEFAULT_BOUNDS.ahead.total_seconds(), ge=0)
    event_time_floor: AwareDatetime = DEFAULT_BOUNDS.floor
    producer_max_batch_size: int | None = None
    producer_linger_s: float = Field(default=0.0, ge=0)
    session_timeout_s: float = Field(default=10.0, gt=0)
    heartbeat_interval_s: float = Field(default=1.0, gt=0)
    faust_sensor: bool = True
    classifier: Literal["fast", "accurate"] = "fast"
    api_token: SecretStr | None = None
    alerts_in_ua_token: SecretStr | None = None
    """`salvo connect`'s token for the alerts.in.ua API (`SALVO_ALERTS_IN_UA_TOKEN`)."""
    allowed_target_networks: str = ""
    secrets_key: SecretStr | None = None
    log_level: str = "WARNING"

    @property
    def allowed_lateness(self) -> timedelta:
        """Lateness as a timedelta, the unit the rule engine works in."""
        return timedelta(seconds=self.allowed_lateness_s)

    @property
    def time_bounds(self) -> TimeBounds:
        """The event times this configuration believes (`streams.plausible`)."""
        return TimeBounds(floor=self.event_time_floor, ahead=timedelta(seconds=self.max_event_ahead_s))

    @property
    def target_policy(self) -> TargetPolicy:
        """Where channels may send (`alerts.egress`): deny by default, plus the networks opened here."""
        return TargetPolicy.from_setting(self.allowed_target_networks)

    @property
    def sealer(self) -> Sealer | None:
        """What seals subscription secrets at rest, or None when no key is set."""
        key = self.secrets_key.get_secret_value() if self.secrets_key else ""
        return Sealer(key) if key else None

    def topic(self, name: str) -> str:
        """The full name of one of Salvo's topics under this configuration's prefix."""
        return f"{self.topic_prefix}{name}"
