"""Faust's own Prometheus sensor (`faust_*`), at a cost per record that the worker can carry.

faust's `PrometheusMonitor` looks up a labelled series for every record it reads (two lookups, by topic and
by partition), for every record's end offset, and for every record it sends; each lookup builds a label
tuple and takes the client's lock. The worker reads and sends each event twice (raw → events → rules), so
that was several lookups per event on the hot path. This sensor keeps the same series and the same values
and looks each labelled series up once.
"""

from __future__ import annotations

from typing import Any

from faust.sensors.monitor import Monitor
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from faust.types import TP, Message, ProducerT
from faust.types.tuples import PendingMessage

from streams.metrics import Children


class FaustSensor(PrometheusMonitor):
    """`PrometheusMonitor` with its per-record label lookups cached (see the module doc)."""

    def __init__(self, metrics: FaustMetrics, **kwargs: Any) -> None:
        super().__init__(metrics=metrics, **kwargs)
        self._child = Children()

    def on_message_in(self, tp: TP, offset: int, message: Message) -> None:
        """What faust's sensor records for a record read, with cached series."""
        Monitor.on_message_in(self, tp, offset, message)
        metrics = self._metrics
        metrics.messages_received.inc()
        metrics.active_messages.inc()
        self._child(metrics.messages_received_per_topics, tp.topic).inc()
        self._child(metrics.messages_received_per_topics_partition, tp.topic, str(tp.partition)).set(offset)

    def track_tp_end_offset(self, tp: TP, offset: int) -> None:
        """The partition's end offset, as faust's sensor tracks it, with a cached series."""
        Monitor.track_tp_end_offset(self, tp, offset)
        self._child(self._metrics.topic_partition_end_offset, tp.topic, str(tp.partition)).set(offset)

    def on_send_initiated(
        self, producer: ProducerT, topic: str, message: PendingMessage, keysize: int, valsize: int
    ) -> Any:
        """Count a record sent, as faust's sensor does, with a cached series."""
        self._child(self._metrics.topic_messages_sent, f"topic.{topic}").inc()
        return Monitor.on_send_initiated(self, producer, topic, message, keysize, valsize)
