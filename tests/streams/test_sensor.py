"""Salvo's faust sensor exports what faust's own Prometheus sensor does, series for series, though it
counts per record in plain attributes and builds the series only when scraped."""

from __future__ import annotations

from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from faust.types import TP, Message
from prometheus_client import CollectorRegistry

from streams.worker.sensor import FaustSensor


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, float]]:
    """Every sample (its metric's type and its value) but the latency histograms (they time the calls) and the
    creation stamps."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): (metric.type, sample.value)
        for metric in registry.collect()
        for sample in metric.samples
        if "latency" not in sample.name and not sample.name.endswith("_created")
    }


def drive(monitor: PrometheusMonitor) -> None:
    """Records read on two partitions, their end offsets, records sent and acknowledged (one sent and not
    yet acknowledged, one record still active): the sensor's per-record hooks."""
    for partition, offset in ((0, 1), (0, 2), (1, 7)):
        tp = TP("strikes.raw", partition)
        message = Message(tp.topic, partition, offset, 0.0, 0, None, b"k", b"v", None, tp=tp)
        monitor.on_message_in(tp, offset, message)
        monitor.track_tp_end_offset(tp, offset + 1)
        if offset != 7:
            monitor.on_message_out(tp, offset, message)
    for topic in ("events.classified", "events.classified", "alerts"):
        state = monitor.on_send_initiated(None, topic, None, 1, 1)  # type: ignore[arg-type]
        if topic != "alerts":
            monitor.on_send_completed(None, state, None)  # type: ignore[arg-type]


def test_the_cached_sensor_exports_the_same_series_and_values_as_faust() -> None:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    drive(PrometheusMonitor(metrics=FaustMetrics.create(theirs, "faust")))
    drive(FaustSensor(FaustMetrics.create(ours, "faust"), ours))
    assert samples(ours) == samples(theirs)
    assert samples(ours)[("faust_active_messages", ())] == ("gauge", 1)
    assert samples(ours)[("faust_total_sent_messages_total", ())] == ("counter", 2)
    assert samples(ours)[("faust_messages_received_per_topics_partition",
                          (("partition", "1"), ("topic", "strikes.raw")))] == ("gauge", 7)
