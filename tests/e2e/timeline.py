"""Acceptance-timeline helpers for crash tests, after Prometheus Alertmanager's `test/with_api_v2` acceptance
suite: real parts only (the embedded broker, real `salvo worker` and `salvo replay` processes, a real signed
webhook receiver), a log of what happened when, and one comparison against what the backtest says must happen.

Why a timeline: a crash test that fails says little unless it shows *when* each kill landed relative to the
replay, what the worker had produced by then and what the subscriber received. Every action and observation is
noted with its time since the start, and the log is part of every failure message.

Why everything is measured from the outside: the guarantee under test is what an operator and a subscriber
see (the `alerts` topic, the webhook requests), so the test never reads the worker's tables or imports its
internals; it only uses the same public pieces the README describes (`salvo replay`, `run_backtest`,
`TopicReader`, `ConsumerLag`, `WebhookReceiver`).
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from aiohttp import web
from prometheus_client import CollectorRegistry

from alerts.backtest import BacktestResult, run_backtest
from alerts.rules import load_rules
from alerts.signing import IDEMPOTENCY_HEADER
from schemas import Alert, Subscription
from schemas.delivery import DeliveryRecord
from streams import topics
from streams.demo import subscribe, worker_env
from streams.lag import ConsumerLag, LagMetrics
from streams.reader import Record, TopicReader
from streams.receiver import Received, WebhookReceiver
from streams.replay import ReplaySummary, load
from streams.settings import SalvoSettings
from streams.sources import event_time

# Fields of an alert that legitimately differ between a live run and the backtest, found by running the
# pipeline without kills (tests/e2e/test_live_equals_backtest.py, test_replay.py): live, `first_ingested_at`
# is the worker's wall clock (in the backtest the event time), and `replay` carries the replay's label.
# Everything else, versions included, must be identical.
INGEST_TIME_FIELDS: frozenset[str] = frozenset({"first_ingested_at", "replay"})

StartWorker = Callable[..., subprocess.Popen[bytes]]


def salvo_command() -> list[str]:
    """The installed `salvo` console script next to this interpreter (.venv/bin/salvo), as an operator runs it."""
    script = Path(sys.executable).with_name("salvo")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "streams.cli"]


# -- the log ----------------------------------------------------------------------------------------------
@dataclass
class Timeline:
    """What happened when, in seconds since the start; rendered into every failure message."""

    started: float = field(default_factory=time.monotonic)
    entries: list[tuple[float, str]] = field(default_factory=list)

    def now(self) -> float:
        """Seconds since the start."""
        return time.monotonic() - self.started

    def note(self, what: str) -> None:
        """Record one action or observation."""
        self.entries.append((self.now(), what))

    def render(self) -> str:
        """One line per entry."""
        return "\n".join(f"{at:8.2f}s  {what}" for at, what in self.entries)


# -- observing the topics ---------------------------------------------------------------------------------
class TopicWatch:
    """Follows topics from offset 0 in a background thread, so the killer sees progress without blocking.

    A reader without a consumer group sees every record the worker wrote, including repeats a crashed
    worker wrote twice: exactly what downstream consumers of the `alerts` topic see.
    """

    def __init__(self, settings: SalvoSettings, names: Iterable[str]) -> None:
        self._settings = settings
        self._names = list(names)
        self._records: dict[str, list[Record]] = defaultdict(list)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="topic-watch", daemon=True)
        self.last_change = time.monotonic()

    def _run(self) -> None:
        try:
            with TopicReader(self._settings, self._names) as reader:
                self._ready.set()
                while not self._stop.is_set():
                    batch = reader.poll(0.2)
                    if batch:
                        with self._lock:
                            for record in batch:
                                self._records[record.topic].append(record)
                            self.last_change = time.monotonic()
        except BaseException as exc:  # surfaced by count()/values(): a silent watcher would fake "quiet"
            self._error = exc
            self._ready.set()

    def _check(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"topic watch failed: {self._error!r}") from self._error

    def count(self, name: str) -> int:
        """Records seen so far on one topic (unprefixed name)."""
        self._check()
        with self._lock:
            return len(self._records[name])

    def values(self, name: str) -> list[bytes]:
        """Values seen so far on one topic, in offset order."""
        self._check()
        with self._lock:
            records = sorted(self._records[name], key=lambda r: (r.partition, r.offset))
        return [r.value for r in records if r.value is not None]

    def __enter__(self) -> TopicWatch:
        self._thread.start()
        self._ready.wait(30)
        self._check()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(10)


# -- the subscriber ---------------------------------------------------------------------------------------
@dataclass
class RecordingReceiver(WebhookReceiver):
    """The real signature-checking receiver, also keeping every accepted request, repeats included.

    `WebhookReceiver.received` keeps each idempotency key's first delivery (what a subscriber acts on); a
    crash test must also see the repeats, to check that each carries the same key and the same alert.
    """

    accepted: list[Received] = field(default_factory=list)

    async def _handle(self, request: web.Request) -> web.Response:
        response = await super()._handle(request)
        if response.status == 200:
            body = json.loads(await request.read())  # aiohttp caches the body: the same bytes that were verified
            self.accepted.append(Received(key=request.headers.get(IDEMPOTENCY_HEADER, ""), body=body, at=time.time()))
        return response


# -- the data ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Feed:
    """A real strike file and the event-time days to replay, given to `salvo replay` and `run_backtest` alike."""

    path: Path
    since: date | None = None
    until: date | None = None

    def args(self) -> list[str]:
        """The file and --from/--to, as the CLI takes them."""
        days = [("--from", self.since), ("--to", self.until)]
        return [str(self.path)] + [part for flag, day in days if day for part in (flag, day.isoformat())]

    def span_s(self) -> float:
        """Event-time seconds from the first to the last item, to pace the replay to a wall-clock length."""
        items = load([self.path], since=self.since, until=self.until, summary=ReplaySummary())
        return (event_time(items[-1]) - event_time(items[0])).total_seconds()

    def backtest(self, rules: Path, settings: SalvoSettings) -> BacktestResult:
        """What must be delivered: the backtest over the same rows, rules and allowed lateness."""
        return run_backtest(
            [self.path], load_rules(rules), since=self.since, until=self.until,
            allowed_lateness=settings.allowed_lateness,
        )


# -- the killer -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KillMoment:
    """When one kill is due: `at_s` after the replay started, and, if the worker only starts producing after
    that (a restart ran long), `grace_s` after its first event, so late kills still land at varied points
    of the catch-up rather than always just after a life's first batch."""

    at_s: float
    grace_s: float


@dataclass(frozen=True)
class KillPlan:
    """Seeded kill moments spread over a replay of `replay_s` wall-clock seconds.

    The replay is cut into `kills` equal slots and each kill lands at a random point of the middle of its
    slot (stratified sampling): random, reproducible from the seed, and never bunched at one end, so every
    stretch of the feed is processed across a crash. A kill also waits until the worker's current life has
    produced an event (`ChaosRun`), since killing a worker still joining its group tests nothing. The moments
    are reproducible; what the worker has done by then is not (restarts take a varying time), so the same
    seed can give different figures from run to run.
    """

    seed: int
    kills: int
    replay_s: float
    max_grace_s: float = 2.0

    def moments(self) -> list[KillMoment]:
        """The kill moments, in order."""
        rng = random.Random(self.seed)
        slot = self.replay_s / max(self.kills, 1)
        return [
            KillMoment(at_s=slot * (i + rng.uniform(0.15, 0.85)), grace_s=rng.uniform(0.0, self.max_grace_s))
            for i in range(self.kills)
        ]


@dataclass(frozen=True)
class Kill:
    """One SIGKILL: when, and what the killed worker had been doing, to prove it landed mid-processing."""

    at_s: float
    life_events: int  # events the killed worker wrote to events.classified during its life
    alerts_total: int  # records on the alerts topic at the kill
    alerts_since_last: int  # growth of the alerts topic since the previous kill (or the start)
    replay_running: bool


@dataclass
class ChaosResult:
    """What the outside world saw: the alerts topic, every accepted webhook request, and the kills."""

    topic: list[bytes]
    delivery_log: list[bytes]
    deliveries: list[Received]
    rejected: int
    kills: list[Kill]
    settled: bool
    timeline: Timeline


@dataclass
class ChaosRun:
    """A replay with `--deliver` to a signed webhook, a worker killed with SIGKILL per plan and restarted on
    the same settings (same app id, data dir, `rocksdb://` store: an operator's restart), then a wait until
    the pipeline is quiet.

    :param quiet_s: how long nothing new may arrive (alerts topic, receiver) before the pipeline counts as
        quiet; the consumer group must also have committed the raw, events and alerts topics past a snapshot
        of their end offsets (see `_settle`).
    :param settle_timeout_s: the longest wait for quiet after the last restart (a lost version never comes).
    :param progress_timeout_s: the longest wait for a restarted worker to produce before it is killed anyway.
    """

    settings: SalvoSettings
    start_worker: StartWorker
    rules: Path
    feed: Feed
    plan: KillPlan
    logs: Path
    quiet_s: float = 4.0
    settle_timeout_s: float = 60.0
    progress_timeout_s: float = 30.0
    timeline: Timeline = field(default_factory=Timeline)

    async def run(self, expected: set[str]) -> ChaosResult:
        """Run the scenario; `expected` (the backtest's `id:vN` keys) lets a complete run stop waiting early."""
        receiver = await RecordingReceiver(secret=secrets.token_hex(16)).start()
        try:
            subscribe(self.settings, Subscription.model_validate({
                "name": "crash-exact", "rate_per_minute": 6_000,  # rate limiting is not under test here
                "send_resolved": True,  # every version the backtest gives must arrive, resolved ones too
                "target": {"type": "webhook", "url": receiver.url, "secret": receiver.secret},
            }))
            with TopicWatch(self.settings, [topics.EVENTS, topics.ALERTS, topics.DELIVERY_LOG]) as watch:
                kills, settled = await self._kill_and_settle(watch, receiver, expected)
                topic, log = watch.values(topics.ALERTS), watch.values(topics.DELIVERY_LOG)
        finally:
            await receiver.stop()
        return ChaosResult(topic, log, list(receiver.accepted), receiver.rejected, kills, settled, self.timeline)

    async def _start(self) -> subprocess.Popen[bytes]:
        worker = await asyncio.to_thread(self.start_worker, self.settings, rules=self.rules)
        self.timeline.note(f"worker pid {worker.pid} serves /metrics")
        return worker

    async def _kill_and_settle(
        self, watch: TopicWatch, receiver: RecordingReceiver, expected: set[str]
    ) -> tuple[list[Kill], bool]:
        worker = await self._start()
        speed = self.feed.span_s() / self.plan.replay_s
        label = f"crash-exact-{self.plan.seed}"
        replay_log = (self.logs / "replay.log").open("wb")
        replay = subprocess.Popen(
            [*salvo_command(), "replay", *self.feed.args(), "--speed", f"{speed:.3f}", "--deliver",
             "--label", label],
            env=worker_env(self.settings), stdout=replay_log, stderr=replay_log,
        )
        replay_started = time.monotonic()
        self.timeline.note(f"salvo replay {' '.join(self.feed.args())} --speed {speed:.0f} --deliver started")
        kills: list[Kill] = []
        life_start, alerts_at_last_kill = watch.count(topics.EVENTS), 0
        try:
            for moment in self.plan.moments():
                await self._until_due(watch, worker, replay_started, moment, life_start)
                if worker.poll() is not None:
                    raise AssertionError(f"worker {worker.pid} exited by itself with {worker.returncode} "
                                         f"(see {self.logs}/worker-*.log)\n{self.timeline.render()}")
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                alerts = watch.count(topics.ALERTS)
                kill = Kill(
                    at_s=time.monotonic() - replay_started, life_events=watch.count(topics.EVENTS) - life_start,
                    alerts_total=alerts, alerts_since_last=alerts - alerts_at_last_kill,
                    replay_running=replay.poll() is None,
                )
                kills.append(kill)
                alerts_at_last_kill = alerts
                self.timeline.note(
                    f"SIGKILL #{len(kills)} pid {worker.pid} at replay+{kill.at_s:.1f}s (planned {moment.at_s:.1f}s): "
                    f"{kill.life_events} events this life, alerts topic {alerts} (+{kill.alerts_since_last}), "
                    f"replay {'running' if kill.replay_running else 'done'}"
                )
                worker = await self._start()
                life_start = watch.count(topics.EVENTS)
            code = await asyncio.to_thread(replay.wait, 600)
            self.timeline.note(f"salvo replay exited {code}: {_last_line(self.logs / 'replay.log')}")
            assert code == 0, (self.logs / "replay.log").read_text()[-3000:]
            settled = await self._settle(watch, receiver, expected)
        finally:
            if replay.poll() is None:
                replay.kill()
                replay.wait()
            replay_log.close()
        return kills, settled

    async def _until_due(
        self, watch: TopicWatch, worker: subprocess.Popen[bytes], replay_started: float, moment: KillMoment,
        life_start: int,
    ) -> None:
        """Wait for the planned moment and for this worker life's first event, whichever is later (then
        `grace_s` more): a worker still joining its group is not processing, so killing it would test a
        restart, not a crash."""
        due = replay_started + moment.at_s
        deadline = max(due, time.monotonic()) + self.progress_timeout_s
        while time.monotonic() < deadline and worker.poll() is None:
            if watch.count(topics.EVENTS) > life_start:
                self.timeline.note(f"worker pid {worker.pid} is producing events")
                if time.monotonic() < due:
                    await asyncio.sleep(due - time.monotonic())
                else:
                    await asyncio.sleep(moment.grace_s)
                return
            await asyncio.sleep(0.05)

    async def _settle(self, watch: TopicWatch, receiver: RecordingReceiver, expected: set[str]) -> bool:
        """Wait until the group has committed past everything that was on its topics at some moment, and
        nothing new reached the alerts topic or the receiver since then for `quiet_s`.

        "Lag 0" alone never holds on a pipeline whose clock ticks are records on a consumed topic (a tick is
        always in flight), so the test takes a snapshot of the true end offsets and waits for the group's
        commits to pass it: everything that existed then is processed and durable. If output changed
        meanwhile, the work it caused may not be, so a new snapshot is taken.
        """
        lag = await asyncio.to_thread(
            ConsumerLag, self.settings.bootstrap_servers, group=self.settings.app_id,
            topics=[self.settings.topic(t) for t in (topics.STRIKES_RAW, topics.EVENTS, topics.ALERTS)],
            metrics=LagMetrics(CollectorRegistry()), client_id=f"{self.settings.app_id}-chaos",
        )
        try:
            deadline = time.monotonic() + self.settle_timeout_s
            seen, changed = (-1, -1), time.monotonic()
            target: dict[tuple[str, int], int] | None = None
            marker = seen
            while time.monotonic() < deadline:
                now = (watch.count(topics.ALERTS), len(receiver.accepted))
                if now != seen:
                    seen, changed = now, time.monotonic()
                if expected <= {d.key for d in receiver.accepted} and time.monotonic() - changed >= 3 * self.quiet_s:
                    # faust's commit can stay behind a re-read hole for a worker's life (README, "Processing
                    # guarantee"): with every version delivered and nothing new for a long spell, the
                    # pipeline is at rest even if the group's commit is not.
                    self.timeline.note(f"quiet: alerts topic {now[0]}, {now[1]} webhook requests, every expected "
                                       f"version delivered; nothing new for {3 * self.quiet_s:.0f}s")
                    return True
                positions = await asyncio.to_thread(lag.measure)
                if target is None:
                    target, marker = {(p.topic, p.partition): p.end for p in positions}, now
                elif all(p.committed >= target.get((p.topic, p.partition), 0) for p in positions):
                    # A complete run needs a shorter quiet spell than an incomplete one, where a retry may be due.
                    wanted = self.quiet_s if expected <= {d.key for d in receiver.accepted} else 3 * self.quiet_s
                    if now == marker and time.monotonic() - changed >= wanted:
                        self.timeline.note(f"quiet: alerts topic {now[0]}, {now[1]} webhook requests, the group "
                                           f"committed past the ends of {len(target)} partitions")
                        return True
                    if now != marker:
                        target = None
                await asyncio.sleep(0.5)
            behind = {f"{p.topic}/{p.partition}": p.lag for p in await asyncio.to_thread(lag.measure) if p.lag}
            self.timeline.note(f"not quiet after {self.settle_timeout_s:.0f}s: alerts topic {seen[0]}, "
                               f"{seen[1]} webhook requests, lag {behind or 0}; worker /readyz: {self._readiness()}")
            return False
        finally:
            await asyncio.to_thread(lag.close)


    def _readiness(self) -> str:
        """The worker's own account of why it is not processing (connected, assigned, recovered)."""
        try:
            response = httpx.get(f"http://127.0.0.1:{self.settings.web_port}/readyz", timeout=2)
        except httpx.HTTPError as exc:
            return f"unreachable ({type(exc).__name__})"
        return f"{response.status_code} {response.text.strip()}"


def _last_line(path: Path) -> str:
    """The last non-empty line of a log: `salvo replay`'s summary (items, span, elapsed)."""
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


# -- the verdict ------------------------------------------------------------------------------------------
def comparable(alert: Alert) -> dict[str, Any]:
    """The alert as JSON data without the fields that legitimately differ live (`INGEST_TIME_FIELDS`)."""
    return alert.model_dump(mode="json", exclude=set(INGEST_TIME_FIELDS))


def differing(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """Names of the top-level fields that differ: enough to tell a wrong count from a wrong window."""
    return sorted(name for name in got.keys() | want.keys() if got.get(name) != want.get(name))


@dataclass
class Findings:
    """How one observed stream of alert versions (topic or webhook) compares with the backtest's.

    `lost`: backtest versions never seen. `altered`: versions seen with other content (key → fields that
    differ), including a repeat that differs from the backtest. `extra`: versions the backtest never made.
    `repeated`: further copies that are identical. `rekeyed`: webhook repeats under another idempotency key.
    """

    where: str
    expected: int
    lost: list[str] = field(default_factory=list)
    altered: dict[str, list[str]] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)
    repeated: int = 0
    rekeyed: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)  # what else is known about a version (delivery log)

    @property
    def exact(self) -> bool:
        """The guarantee: nothing lost, altered, invented or re-keyed; identical repeats are allowed."""
        return not (self.lost or self.altered or self.extra or self.rekeyed)

    def line(self) -> str:
        """The counts in one line."""
        return (f"{self.where}: expected {self.expected} lost {len(self.lost)} altered {len(self.altered)} "
                f"extra {len(self.extra)} repeated {self.repeated}"
                + (f" rekeyed {len(self.rekeyed)}" if self.where == "webhook" else ""))

    def details(self) -> str:
        """Which versions, for the failure message."""
        parts = [f"  lost: {key}" + (f" ({self.notes[key]})" if key in self.notes else "") for key in self.lost]
        parts += [f"  altered: {key} ({', '.join(fields)})" for key, fields in self.altered.items()]
        parts += [f"  extra: {key}" for key in self.extra]
        parts += [f"  rekeyed: {key}" for key in self.rekeyed]
        return f"{self.line()}\n" + "\n".join(parts) if parts else self.line()


def compare(where: str, expected: list[Alert], seen: list[tuple[str, Alert]]) -> Findings:
    """Compare observed `(idempotency key, alert)` pairs with the backtest's versions (see `Findings`)."""
    want = {alert.key: comparable(alert) for alert in expected}
    found = Findings(where, expected=len(want))
    copies: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for key, alert in seen:
        copies[alert.key].append((key, comparable(alert)))
    found.lost = [key for key in want if key not in copies]
    found.extra = [key for key in copies if key not in want]
    for version, got in copies.items():
        if version in want:
            fields = sorted({name for _, data in got for name in differing(data, want[version])})
            if fields:
                found.altered[version] = fields
        found.repeated += len(got) - 1
        if any(key != version for key, _ in got):
            found.rekeyed.append(version)
    return found


def topic_findings(expected: list[Alert], values: list[bytes]) -> Findings:
    """The alerts topic against the backtest; the key of a topic record is the alert's own `id:vN`."""
    alerts = [Alert.model_validate_json(value) for value in values]
    return compare("topic", expected, [(alert.key, alert) for alert in alerts])


def webhook_findings(expected: list[Alert], deliveries: list[Received], log: list[bytes]) -> Findings:
    """Every accepted webhook request against the backtest, with the idempotency key it carried; a version
    that never arrived is annotated with what `deliveries.log` says the worker did with it (delivered,
    duplicate, retrying, ...), which tells a lost send from a version the outbox never saw."""
    found = compare("webhook", expected, [(d.key, Alert.model_validate(d.body["alert"])) for d in deliveries])
    statuses: dict[str, list[str]] = defaultdict(list)
    for value in log:
        record = DeliveryRecord.model_validate_json(value)
        statuses[record.idempotency_key].append(record.status.value)
    for key in found.lost:
        found.notes[key] = f"deliveries.log: {', '.join(statuses[key])}" if key in statuses else "no delivery record"
    return found


def dump_topics(settings: SalvoSettings, logs: Path, names: Sequence[str]) -> None:
    """Write every data record of these topics to `topic-NAME.txt` in `logs`: one line per record with its
    position and the payload's id and times (ticks left out).

    What a failed run's report cannot show: which raw items never reached `events.classified`, and in what
    order each life forwarded them. That is how the lost items of seed 3 were found (raw 7..29, never
    ingested after a kill before the first commit)."""
    with TopicReader(settings, list(names)) as reader:
        records: list[Record] = []
        empty = 0
        while empty < 3:  # records already written arrive within a poll or two; then the topics are read
            batch = reader.poll(0.5)
            records += batch
            empty = 0 if batch else empty + 1
    for name in names:
        lines = []
        for record in sorted((r for r in records if r.topic == name), key=lambda r: (r.partition, r.offset)):
            try:
                value = json.loads(record.value or b"")
            except ValueError:
                value = {}
            fields = {key: value.get(key) for key in ("id", "occurred_at", "origin", "ingested_at")} \
                if isinstance(value, dict) else {}
            lines.append(f"{record.partition}@{record.offset} " + " ".join(f"{k}={v}" for k, v in fields.items()))
        (logs / f"topic-{name}.txt").write_text("\n".join(lines) + "\n")


def summary_line(result: ChaosResult, topic: Findings, webhook: Findings, *, seed: int) -> str:
    """The one line a run prints: kills, and versions expected / lost / altered / repeated."""
    mid = sum(1 for k in result.kills if k.life_events > 0 and k.replay_running)
    return (f"crash-exact seed={seed} kills={len(result.kills)} (mid-replay with progress {mid}) | "
            f"{topic.line()} | {webhook.line()} rejected {result.rejected}"
            + ("" if result.settled else " | NOT QUIET"))
