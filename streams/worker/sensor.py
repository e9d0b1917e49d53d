"""Faust's own Prometheus sensor (`faust_*`), at a cost per record that the worker can carry.

faust's `PrometheusMonitor` updates labelled Prometheus series for every record it reads (by topic and by
partition), for every record's end offset, and for every record it sends and every acknowledgement; each
update builds a label tuple, looks the series up and takes the client's lock. The worker reads and sends each
event twice (raw → events → rules), so that was a dozen locked updates per event on the hot path.

faust's base `Monitor`, which `PrometheusMonitor` extends, already counts all of these in plain attributes
(records in and active, by topic, read and end offsets, sends by topic). This sensor lets it, and exports those
series from its counts when Prometheus scrapes (`_PerRecord`), under the same names, labels and values. Only
the send latency is still observed per record: a histogram cannot be read back from a count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from faust.sensors.monitor import Monitor
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from faust.types import TP, Message, ProducerT
from faust.types.tuples import PendingMessage, RecordMetadata
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

Reading = float | dict[tuple[str, ...], float]  # one value, or one per label tuple


def _by_partition(offsets: Mapping[TP, int]) -> Reading:
    return {(tp.topic, str(tp.partition)): offset for tp, offset in dict(offsets).items()}


# faust's per-record series that this sensor exports at scrape time (by their FaustMetrics field), and how
# each is read from the sensor's counts; the one list both for what is unregistered and for what is exported
PER_RECORD: dict[str, Callable[[FaustSensor], Reading]] = {
    "messages_received": lambda sensor: sensor.messages_received_total,
    "active_messages": lambda sensor: sensor.messages_active,
    "messages_received_per_topics": lambda sensor: {
        (topic,): n for topic, n in dict(sensor.messages_received_by_topic).items()},
    "messages_received_per_topics_partition": lambda sensor: _by_partition(sensor.tp_read_offsets),
    "topic_partition_end_offset": lambda sensor: _by_partition(sensor.tp_end_offsets),
    "topic_messages_sent": lambda sensor: {
        (f"topic.{topic}",): n for topic, n in dict(sensor.messages_sent_by_topic).items()},
    "total_sent_messages": lambda sensor: sensor.sends_completed,
}


class FaustSensor(PrometheusMonitor):
    """`PrometheusMonitor` whose per-record series are read from `Monitor`'s counts (see the module doc)."""

    def __init__(self, metrics: FaustMetrics, registry: CollectorRegistry, **kwargs: Any) -> None:
        super().__init__(metrics=metrics, **kwargs)
        self.sends_completed = 0
        for name in PER_RECORD:
            registry.unregister(getattr(metrics, name))
        registry.register(_PerRecord(self, metrics))

    def on_message_in(self, tp: TP, offset: int, message: Message) -> None:
        """Counted by `Monitor` only."""
        Monitor.on_message_in(self, tp, offset, message)

    def on_message_out(self, tp: TP, offset: int, message: Message) -> None:
        """Counted by `Monitor` only."""
        Monitor.on_message_out(self, tp, offset, message)

    def track_tp_end_offset(self, tp: TP, offset: int) -> None:
        """Kept by `Monitor` only."""
        Monitor.track_tp_end_offset(self, tp, offset)

    def on_send_initiated(
        self, producer: ProducerT, topic: str, message: PendingMessage, keysize: int, valsize: int
    ) -> Any:
        """Counted by `Monitor` only; its answer (the send's start) times the send."""
        return Monitor.on_send_initiated(self, producer, topic, message, keysize, valsize)

    def on_send_completed(self, producer: ProducerT, state: Any, metadata: RecordMetadata) -> None:
        """The send's latency, observed as faust does; the count is read at scrape time."""
        Monitor.on_send_completed(self, producer, state, metadata)
        self.sends_completed += 1
        self._metrics.producer_send_latency.observe(self.ms_since(state))


class _PerRecord(Collector):
    """faust's per-record series, from the sensor's counts, as faust's own metrics would export them."""

    def __init__(self, sensor: FaustSensor, metrics: FaustMetrics) -> None:
        self.sensor = sensor
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        for field, read in PER_RECORD.items():
            metric = getattr(self.metrics, field)  # its name (with the app's prefix), help and labels
            kind = CounterMetricFamily if isinstance(metric, Counter) else GaugeMetricFamily
            name, documentation = metric._name, metric._documentation  # noqa: SLF001
            reading = read(self.sensor)
            if not isinstance(reading, dict):
                yield kind(name, documentation, value=reading)
                continue
            family = kind(name, documentation, labels=list(metric._labelnames))  # noqa: SLF001
            for labels, value in reading.items():
                family.add_metric(list(labels), value)
            yield family
