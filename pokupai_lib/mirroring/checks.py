"""Watching MirrorMaker 2 work: record counts on both sides, lag over time, loss and repeats.

Offsets cannot be compared across the clusters, nor stand for record counts: ``shop-clear`` is
written in transactions by the filter and its copy by MirrorMaker 2 (exactly-once source
support), so both hold commit markers, and the copy the records of transactions a killed
MirrorMaker 2 left open (aborted when it comes back). Every check here therefore counts and
compares records (key and value), read committed from both sides.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import matplotlib.pyplot as plt
import pandas as pd
from confluent_kafka import Consumer, Message, TopicPartition
from matplotlib.axes import Axes

from pokupai_lib.config import ClusterName, LabConfig
from pokupai_lib.ingest.checks import wait_for_filter
from pokupai_lib.ingest.publisher import publish_files
from pokupai_lib.kafka.clients import client_config
from pokupai_lib.kafka.topic_reader import Record, end_offsets, is_partition_eof, read_range
from pokupai_lib.mirroring.mirror_maker import MIRROR_SERVICE, mirror_spec, start_mirror
from pokupai_lib.runtime.supervisor import Supervisor
from pokupai_lib.runtime.wait import wait_until

__all__ = ["LagSampler", "MirrorComparison", "MirrorFault", "compare_mirrored", "mirror_report",
           "plot_lag", "restart_during_publish", "wait_for_mirror"]

MirrorFault = Literal["stop", "sigkill"]
"""How MirrorMaker 2 goes down mid-stream: ``stop`` (SIGTERM: it commits what it copied and
leaves its group; started again after a pause) or ``sigkill`` (``kill -9``: no goodbye, a
transaction open; its keeper starts it again)."""


@dataclass(frozen=True)
class MirrorComparison:
    """One topic's records on the source and on the target (see :func:`compare_mirrored`)."""

    topic: str
    remote_topic: str
    source_records: int
    target_records: int
    missing: int
    repeated: int

    @property
    def in_sync(self) -> bool:
        """Every record the source held before the copy was read is copied, none twice."""
        return self.missing == 0 and self.repeated == 0


_Bag = Counter[tuple[bytes | None, bytes | None]]


def _bag(records: list[Record]) -> _Bag:
    return Counter((r.key, r.value) for r in records)


def compare_mirrored(cfg: LabConfig, topic: str) -> MirrorComparison:
    """Compare every record of ``topic`` with its copy on the target.

    The lab is shared, so records may arrive while both sides are read; the reads are ordered
    so that this never shows as a loss or a repeat: the source's end offsets first, then the
    copy, then the source. ``missing`` counts the records below those first end offsets that
    the copy lacks, ``repeated`` the copies beyond the source's own count read last. The
    counts may then differ by what arrived in between.
    """
    remote = cfg.mirror.remote_topic(topic)
    cut = end_offsets(cfg, topic, cfg.mirror.source)
    target = _bag(read_range(cfg, remote, cluster=cfg.mirror.target))
    records = read_range(cfg, topic, cluster=cfg.mirror.source)
    source = _bag(records)
    before_cut = _bag([r for r in records if r.offset < cut.get(r.partition, 0)])
    return MirrorComparison(topic, remote, source.total(), target.total(),
                            missing=(before_cut - target).total(),
                            repeated=(target - source).total())


def mirror_report(cfg: LabConfig) -> pd.DataFrame:
    """Source and target record counts of every mirrored topic, as a table."""
    rows = [compare_mirrored(cfg, topic) for topic in cfg.mirrored_topics]
    frame = pd.DataFrame([r.__dict__ for r in rows])
    frame["in_sync"] = [r.in_sync for r in rows]
    return frame


_BATCH = 10_000


@dataclass
class _Tail:
    """A read-committed consumer of every partition of a topic from its beginning, counting
    data records (commit markers and aborted records never reach it)."""

    consumer: Consumer
    partitions: frozenset[int]
    records: int = 0

    def read_to_end(self, timeout_s: float, on_record: Callable[[Message], None] | None = None
                    ) -> int:
        """Count every record there is now (until each partition has reported its end, so a
        sample taken next is not an artefact of the tail still reading history)."""
        pending = set(self.partitions)

        def read_batch() -> set[int]:
            for msg in self.consumer.consume(_BATCH, timeout=0.1):
                if is_partition_eof(msg):
                    pending.discard(msg.partition() or 0)
                    continue
                self.records += 1
                if on_record is not None:
                    on_record(msg)
            return pending

        wait_until(read_batch, until=lambda left: not left, timeout_s=timeout_s, every_s=0,
                   what="a lag sampler's tail to read what its topic holds (state: partitions "
                   "not read to their end)")
        return self.records

    def drain(self, on_record: Callable[[Message], None] | None = None) -> int:
        """Count what has arrived since the last call; return the count so far."""
        while True:
            batch = self.consumer.consume(_BATCH, timeout=0.05)
            for msg in batch:
                if msg.error() is None:
                    self.records += 1
                    if on_record is not None:
                        on_record(msg)
            if len(batch) < _BATCH:
                return self.records


def _tail(cfg: LabConfig, cluster: ClusterName, topic: str) -> _Tail:
    consumer = Consumer(client_config(cfg, cluster, "admin", **{
        "group.id": "admin.lag-sampler", "enable.auto.commit": False,
        "isolation.level": "read_committed", "enable.partition.eof": True}))
    partitions = consumer.list_topics(topic, timeout=cfg.timeouts.kafka_call_s
                                      ).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    return _Tail(consumer, frozenset(partitions))


def wait_for_mirror(cfg: LabConfig, timeout_s: float | None = None) -> pd.DataFrame:
    """Wait until every mirrored topic's copy holds all source records; return the report.

    The copies are counted by reading them committed, as they arrive.
    """
    timeout_s = cfg.timeouts.catch_up_s if timeout_s is None else timeout_s
    expected = {t: len(read_range(cfg, t, cluster=cfg.mirror.source)) for t in cfg.mirrored_topics}
    copies = {t: _tail(cfg, cfg.mirror.target, cfg.mirror.remote_topic(t)) for t in expected}
    try:
        wait_until(lambda: {t: n - copies[t].drain() for t, n in expected.items()},
                   until=lambda behind: all(n <= 0 for n in behind.values()),
                   timeout_s=timeout_s, every_s=0.5, what="MirrorMaker 2 to copy every source "
                   "record (state: records behind per topic)", log=cfg.paths.log(MIRROR_SERVICE))
    finally:
        for tail in copies.values():
            tail.consumer.close()
    return mirror_report(cfg)


@dataclass
class LagSampler:
    """Samples, twice a second, how many records each side of one mirrored topic holds.

    Run it around a publish (``start`` / ``stop``); ``frame()`` gives source count, target count
    and records behind over time, and ``latencies_ms`` the age of each record on arrival at the
    target (the copy keeps the source timestamp).
    """

    cfg: LabConfig
    topic: str
    interval_s: float = 0.5
    samples: list[tuple[float, int, int]] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    marks: list[tuple[float, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _started: float = 0.0

    def start(self) -> LagSampler:
        self._started = time.time()
        source = _tail(self.cfg, self.cfg.mirror.source, self.topic)
        target = _tail(self.cfg, self.cfg.mirror.target, self.cfg.mirror.remote_topic(self.topic))
        # history first, target before source (see _run), so the first sample is a true lag
        for tail in (target, source):
            tail.read_to_end(self.cfg.timeouts.read_s, self._arrived if tail is target else None)
        self._thread = threading.Thread(target=self._run, args=(source, target), daemon=True)
        self._thread.start()
        return self

    def mark(self, label: str) -> None:
        """Note an event (e.g. "MirrorMaker stopped") to show on the plot."""
        self.marks.append((time.time() - self._started, label))

    def _arrived(self, msg: Message) -> None:
        if msg.timestamp()[1] / 1000 >= self._started:
            self.latencies_ms.append(time.time() * 1000 - msg.timestamp()[1])

    def _run(self, source: _Tail, target: _Tail) -> None:
        next_sample = 0.0
        try:
            while not self._stop.is_set():
                # Target first: what it has is a subset of the source's committed records, so
                # reading the source second never shows the target ahead.
                target.drain(self._arrived)
                source.drain()
                now = time.time() - self._started
                if now >= next_sample:
                    self.samples.append((now, source.records, target.records))
                    next_sample = now + self.interval_s
        finally:
            source.consumer.close()
            target.consumer.close()

    def stop(self) -> pd.DataFrame:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        return self.frame()

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.samples, columns=["seconds", "source", "target"])
        frame["behind"] = frame["source"] - frame["target"]
        return frame


def _stop_and_start(cfg: LabConfig, supervisor: Supervisor, sampler: LagSampler,
                    down_s: float) -> None:
    sampler.mark("MirrorMaker 2 stopped")
    supervisor.stop(MIRROR_SERVICE, cfg.service_stop_timeout_s)
    time.sleep(down_s)
    sampler.mark("MirrorMaker 2 started")
    start_mirror(cfg, supervisor)


def _kill_mid_copy(cfg: LabConfig, supervisor: Supervisor, sampler: LagSampler) -> None:
    """``kill -9`` MirrorMaker 2 once the first new record reaches the target (it is copying),
    then wait until its keeper has started it again and it is ready."""
    wait_until(lambda: len(sampler.latencies_ms), until=lambda copied: copied > 0,
               timeout_s=cfg.timeouts.catch_up_s, every_s=0.05,
               what="MirrorMaker 2 to copy the first new record",
               log=cfg.paths.log(MIRROR_SERVICE))
    sampler.mark("MirrorMaker 2 killed (kill -9)")
    supervisor.kill_worker(mirror_spec(cfg))
    sampler.mark("MirrorMaker 2 restarted by its keeper")


def restart_during_publish(cfg: LabConfig, paths: list[Path], down_s: float = 5.0,
                           interval_s: float = 1.5, fault: MirrorFault = "stop") -> LagSampler:
    """Publish ``paths`` one file every ``interval_s`` while MirrorMaker 2 goes down and comes
    back; wait until the filter and the mirror have caught up; return the sampler.

    Args:
        fault: ``stop``: stopped after ``interval_s``, started again ``down_s`` later;
            ``sigkill``: killed with ``kill -9`` while it copies the first new records, and
            started again by its keeper after its backoff (``down_s`` is not used).

    Raises:
        ServiceNotReadyError: MirrorMaker 2 is not running, or does not become ready again.
        LabTimeoutError: the filter or the mirror does not catch up.
    """
    supervisor = Supervisor(cfg.paths.pids, cfg.paths.logs)
    sampler = LagSampler(cfg, cfg.topics.shop_clear).start()

    def publish_paced() -> None:
        for path in paths:
            publish_files(cfg, [path], progress=False)
            time.sleep(interval_s)

    publishing = threading.Thread(target=publish_paced, name="paced-publish", daemon=True)
    publishing.start()
    if fault == "sigkill":
        _kill_mid_copy(cfg, supervisor, sampler)
    else:
        time.sleep(interval_s)
        _stop_and_start(cfg, supervisor, sampler, down_s)
    publishing.join()
    wait_for_filter(cfg)
    wait_for_mirror(cfg)
    # a last sample with the target caught up (MirrorMaker may have repeated records)
    wait_until(lambda: sampler.samples[-1] if sampler.samples else None,
               until=lambda sample: sample[2] >= sample[1], timeout_s=30,
               every_s=sampler.interval_s,
               what="a lag sample with the target caught up (state: seconds, source, target)")
    sampler.stop()
    return sampler


def plot_lag(sampler: LagSampler) -> Axes:
    """Records behind on the secondary over time, with the marked events."""
    frame = sampler.frame()
    _figure, axes = plt.subplots(figsize=(8, 3))
    axes.plot(frame["seconds"], frame["behind"], drawstyle="steps-post")
    for seconds, label in sampler.marks:
        axes.axvline(seconds, color="grey", linestyle="--")
        axes.annotate(label, (seconds, frame["behind"].max() * 0.9 or 1), rotation=90,
                      fontsize=8, ha="right")
    axes.set(xlabel="seconds", ylabel="records behind",
             title=f"{sampler.topic}: replication lag primary → secondary")
    return axes
