"""The MVP's alerting test as one library call: a broker stops while a producer with acks=all
keeps writing, the alert fires, the broker returns, the alert resolves, nothing is lost.

Notebook 10, the alert integration test and the alert-delay benchmark all run this scenario.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from confluent_kafka import KafkaError, Message, Producer
from matplotlib.figure import Figure

from pokupai_lib.config import ClusterName, LabConfig
from pokupai_lib.kafka.clients import admin_client, client_config
from pokupai_lib.kafka.cluster import restore_preferred_leaders, start_node, stop_node
from pokupai_lib.kafka.topic_reader import end_offsets, read_range
from pokupai_lib.kafka.topics import ensure_topics
from pokupai_lib.monitoring.stack import query_range, wait_for_alert
from pokupai_lib.runtime.supervisor import lab_supervisor

__all__ = ["BROKER_DOWN_ALERT", "OutageReport", "broker_outage", "outage_metrics", "plot_outage"]

BROKER_DOWN_ALERT = "KafkaBrokerDown"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _received(note: dict[str, Any]) -> float:
    """When the webhook receiver got ``note``, as epoch seconds."""
    return datetime.fromisoformat(note["received_at"]).timestamp()


class SteadyWriter:
    """Writes a numbered record every ``interval_s`` with acks=all until stopped, counting
    what the cluster acknowledged in each phase."""

    def __init__(self, cfg: LabConfig, cluster: ClusterName, topic: str,
                 interval_s: float) -> None:
        self.topic, self.interval_s = topic, interval_s
        self.producer = Producer(client_config(cfg, cluster, "admin", acks="all", **{
            "enable.idempotence": True, "delivery.timeout.ms": 120_000}))
        self.phase = "before"
        self.acked: dict[str, list[int]] = {"before": [], "during": [], "after": []}
        self.failed: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._write, name="steady-writer", daemon=True)

    def _delivered(self, error: KafkaError | None, msg: Message) -> None:
        if error is not None:
            self.failed.append(str(error))
        else:
            phase, number = (msg.key() or b"?:0").decode().split(":")
            self.acked[phase].append(int(number))

    def _write(self) -> None:
        number = 0
        while not self._stop.is_set():
            self.producer.produce(self.topic, key=f"{self.phase}:{number}".encode(),
                                  value=b"x", on_delivery=self._delivered)
            self.producer.poll(0)
            number += 1
            time.sleep(self.interval_s)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> int:
        """Stop writing and wait for every outstanding acknowledgement; return undelivered."""
        self._stop.set()
        self._thread.join()
        return int(self.producer.flush(60))


@dataclass
class OutageReport:
    """What happened during one broker outage."""

    cluster: str
    broker: int
    topic: str
    started: float  # epoch seconds, for the VictoriaMetrics window
    stopped_at: float
    restarted_at: float
    ended: float
    fired: dict[str, Any]
    resolved: dict[str, Any]
    fired_after_s: float
    resolved_after_s: float
    acked: dict[str, int]
    failed: int
    lost: int
    unacked_in_topic: int = 0

    def summary(self) -> pd.DataFrame:
        """One row per fact, for the notebook."""
        rows = [
            ("broker stopped", f"{self.cluster} broker {self.broker}"),
            (f"{BROKER_DOWN_ALERT} firing after", f"{self.fired_after_s:.1f} s"),
            ("alert starts at (Alertmanager)", self.fired["startsAt"]),
            (f"{BROKER_DOWN_ALERT} resolved after restart", f"{self.resolved_after_s:.1f} s"),
            ("alert ends at (Alertmanager)", self.resolved.get("endsAt", "")),
            ("acks=all writes before / during / after", " / ".join(
                str(self.acked[p]) for p in ("before", "during", "after"))),
            ("writes refused", str(self.failed)),
            ("acknowledged writes missing from the topic", str(self.lost)),
        ]
        return pd.DataFrame(rows, columns=["what", "value"]).set_index("what")


def broker_outage(cfg: LabConfig, broker: int = 2, cluster: ClusterName = "primary",
                  topic: str = "test-alert", lead_s: float = 3.0, write_interval_s: float = 0.05,
                  alert_timeout_s: float = 60.0) -> OutageReport:
    """Stop ``broker`` with a producer writing (RF 3, min ISR 2), wait for the broker-down
    alert, start the broker again, wait for the alert to resolve, then check every
    acknowledged write is in the topic. Raises LabError when an alert does not come in time."""
    supervisor = lab_supervisor(cfg)
    ensure_topics(admin_client(cfg, cluster), [cfg.topics.layout.spec(topic)])
    start = end_offsets(cfg, topic, cluster)
    instance = f"{cfg.monitoring.host}:{cfg.monitoring.broker_jmx_port(broker)}"
    writer = SteadyWriter(cfg, cluster, topic, write_interval_s)
    started = time.time()
    writer.start()
    try:
        time.sleep(lead_s)
        since, stopped_at = _now_iso(), time.time()
        writer.phase = "during"
        stop_node(cfg, cluster, broker, supervisor)
        try:
            fired = wait_for_alert(cfg, BROKER_DOWN_ALERT, "firing", since, alert_timeout_s,
                                   instance=instance)
            fired_after = _received(fired) - stopped_at
        finally:
            # the exporter answers as soon as the JVM runs, so the alert can resolve before the
            # listener is ready: the restart is timed from the start command
            restarted_at = time.time()
            writer.phase = "after"
            start_node(cfg, cluster, broker, supervisor)
        resolved = wait_for_alert(cfg, BROKER_DOWN_ALERT, "resolved", since, alert_timeout_s,
                                  instance=instance)
        resolved_after = _received(resolved) - restarted_at
        restore_preferred_leaders(cfg, cluster)  # writes go on while leadership moves back
        time.sleep(lead_s)
    except BaseException:
        writer.stop()  # no writer left running behind a failed scenario
        raise
    undelivered = writer.stop()
    in_topic = {r.key.decode() for r in read_range(cfg, topic, start, cluster) if r.key}
    acked = {f"{phase}:{n}" for phase, numbers in writer.acked.items() for n in numbers}
    return OutageReport(
        cluster=cluster, broker=broker, topic=topic, started=started, stopped_at=stopped_at,
        restarted_at=restarted_at, ended=time.time(), fired=fired, resolved=resolved,
        fired_after_s=fired_after, resolved_after_s=resolved_after,
        acked={phase: len(numbers) for phase, numbers in writer.acked.items()},
        failed=len(writer.failed) + undelivered, lost=len(acked - in_topic),
        unacked_in_topic=len(in_topic - acked))


def outage_metrics(cfg: LabConfig, report: OutageReport, after_s: float = 20.0) -> pd.DataFrame:
    """Brokers up and under-replicated partitions of the cluster from the start of the test
    to ``after_s`` after the restart, from VictoriaMetrics (5 s steps). Waits until that
    window is a few scrapes in the past: the newest steps can hold only some targets' samples."""
    until = max(report.ended, report.restarted_at + after_s)
    settled = until + 2 * cfg.monitoring.scrape_interval_s
    time.sleep(max(0.0, settled - time.time()))
    selector = f'cluster="{report.cluster}"'
    queries = {
        "brokers up": f'sum(up{{job="kafka", {selector}}})',
        "under-replicated partitions":
            f"sum(kafka_server_replicamanager_underreplicatedpartitions{{{selector}}})",
    }
    columns = {}
    for name, query in queries.items():
        frame = query_range(cfg, query, report.started, until)
        columns[name] = frame.iloc[:, 0] if not frame.empty else pd.Series(dtype=float)
    return pd.DataFrame(columns)


def plot_outage(cfg: LabConfig, report: OutageReport) -> Figure:
    """The two series over time, with the stop, the restart and the notifications marked."""
    metrics = outage_metrics(cfg, report)
    figure, axes = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    marks = {"broker stopped": report.stopped_at, "alert fired": report.fired_after_s
             + report.stopped_at, "broker started": report.restarted_at,
             "alert resolved": report.restarted_at + report.resolved_after_s}
    for ax, column in zip(axes, metrics.columns, strict=True):
        ax.plot(metrics.index, metrics[column], drawstyle="steps-post")
        ax.set_ylabel(column)
        for label, at in marks.items():
            when = pd.Timestamp(at, unit="s", tz="UTC")
            ax.axvline(when, color="grey", linestyle="--")
            ax.annotate(label, (when, ax.get_ylim()[1] * 0.95), rotation=90, fontsize=8,
                        ha="right", va="top")
    axes[0].set_title(f"{report.cluster}: broker {report.broker} down and back "
                      "(VictoriaMetrics)")
    figure.tight_layout()
    return figure
