"""Benchmark: N products at once through the whole running platform, stage by stage.

For each N (``--products``, default 20,000 and 200,000) N new products (fresh ids, shops named
after the run, none banned) are published with the lab's publisher at full speed, in a child
process. From the first publish, once a second: how many of them shop-raw holds (published),
shop-clear (filtered), primary.shop-clear on the secondary (mirrored), the index as a search
sees it (searchable), and how many of them the recommender has committed in primary.shop-clear,
with its lag on its internal topics. Until every stage holds N and that lag is 0, or
``120 s + N / 250`` s. Before the run, each process's CPU for 20 s at rest (what the platform
costs when nothing happens); meanwhile: each process's CPU (the lab's services with their children,
this process, the publisher) and search → recommendation latency (a search through the client
API, then ``GET /recommendations/{client}`` until it shows).
After each run, Kafka's ProducerPerformance writes the same number of records of the same size
to a bench topic, as the reference. Appends to results.md; plots to plots/end_to_end_<N>_<time>.png.

Run from bench/ against the platform started by ``make up`` (another checkout's platform:
``LAB_PATHS__ROOT=/path/to/it``). The platform must be fully up; this script starts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

import elastic_transport
import httpx
import psutil
from cluster_startup import BACKLOG_TIMEOUT_S, machine, write_results
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from elasticsearch import ApiError
from end_to_end_report import (
    STAGES,
    CpuUse,
    Latency,
    RunReport,
    Sample,
    caught_up_at,
    cpu_rows,
    plot_stages,
    records_below,
    render_run,
    stage_result,
)
from pipeline_throughput import avro_record_size
from tqdm import tqdm

from pokupai_lib.client_api.client import ClientApiClient
from pokupai_lib.config import ClusterName, LabConfig, load_config
from pokupai_lib.errors import LabTimeoutError
from pokupai_lib.ingest.catalog import generate_catalog, write_shop_files
from pokupai_lib.ingest.publisher import PublishResult, publish_files
from pokupai_lib.kafka.clients import admin_client, client_config
from pokupai_lib.kafka.tools import kafka_tool_output
from pokupai_lib.kafka.topics import ensure_topics
from pokupai_lib.lab import all_service_specs
from pokupai_lib.monitoring.stack import missing_monitoring_tools, monitoring_specs
from pokupai_lib.recommendations.checks import (
    recommender_stats,
    wait_for_recommendations,
)
from pokupai_lib.runtime.services import ALERT_RECEIVER
from pokupai_lib.runtime.supervisor import lab_supervisor
from pokupai_lib.search.elastic import elastic_client
from pokupai_lib.stage_checks import wait_until_settled

PERF_TOPIC = "bench-e2e-perf"
PLOTS = Path(__file__).with_name("plots")
SEARCH_WORD = "Красота"  # a category: every search gets a recommendation
PROBE_TIMEOUT_S = 30.0
REST_WINDOW_S = 20.0  # the idle platform's pace: brokers' ticks, scrapes, the stages' polls


def timeout_for(total: int) -> float:
    """How long a run may take: 2 minutes plus 4 ms a product (250 products/s)."""
    return 120.0 + total / 250


def require_platform(cfg: LabConfig) -> None:
    """Exit 1 with one line when a service of the platform is not running and ready (the
    monitoring services only count where their programs are installed)."""
    supervisor = lab_supervisor(cfg)
    optional = ({spec.name for spec in monitoring_specs(cfg)} | {ALERT_RECEIVER}
                if missing_monitoring_tools() else set())
    down = []
    for spec in all_service_specs(cfg):
        if spec.name not in optional:
            status = supervisor.status(spec)
            if status.state != "running" or status.health.startswith("not ready"):
                down.append(spec.name)
    if down:
        raise SystemExit(f"the platform is not fully up ({', '.join(down)} not ready): start "
                         f"it with `make up` in {cfg.paths.root}")


class RunTail:
    """Counts the run's products (keys ``first_id`` .. ``first_id + total - 1``, each once)
    arriving in one topic, read committed from its end at the start, and keeps their offsets
    per partition; other writers' records are counted apart."""

    def __init__(self, cfg: LabConfig, topic: str, cluster: ClusterName, first_id: int,
                 total: int) -> None:
        self.first_id, self.seen = first_id, bytearray(total)
        self.count = self.others = 0
        self.offsets: dict[int, list[int]] = {}
        self.first_ms: int | None = None
        self.last_ms: int | None = None
        self.consumer = Consumer(client_config(cfg, cluster, "admin", **{
            "group.id": "admin.e2e-bench", "enable.auto.commit": False,
            "isolation.level": "read_committed"}))
        wait = cfg.timeouts.kafka_call_s
        partitions = self.consumer.list_topics(topic, timeout=wait).topics[topic].partitions
        self.consumer.assign([TopicPartition(topic, p, self.consumer.get_watermark_offsets(
            TopicPartition(topic, p), timeout=wait)[1]) for p in partitions])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"tail-{topic}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for msg in self.consumer.consume(10_000, timeout=0.2):
                if msg.error() is not None:
                    continue
                try:
                    index = int(msg.key() or b"") - self.first_id
                except ValueError:
                    index = -1
                if not 0 <= index < len(self.seen):
                    self.others += 1
                    continue
                if not self.seen[index]:  # a copy repeated by the mirror counts once
                    self.seen[index] = 1
                    self.count += 1
                    self.offsets.setdefault(msg.partition() or 0, []).append(msg.offset() or 0)
                stamp = msg.timestamp()[1]
                self.first_ms = stamp if self.first_ms is None else min(self.first_ms, stamp)
                self.last_ms = stamp if self.last_ms is None else max(self.last_ms, stamp)
        self.consumer.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class RecommenderWatch:
    """How many of the run's products (their offsets in primary.shop-clear, from the mirror's
    tail) the recommender's group has committed, and its lag on its internal topics (its
    ``/stats``, measured there once a second). Not its lag on the inputs: the latency probe's
    searches and other writers' records are not the load."""

    def __init__(self, cfg: LabConfig, mirrored: RunTail) -> None:
        self.cfg, self.mirrored = cfg, mirrored
        self.admin = admin_client(cfg, cfg.mirror.target)
        self.topic = cfg.mirror.remote_topic(cfg.topics.shop_clear)
        self.inputs = {self.topic, cfg.mirror.remote_topic(cfg.topics.client_searches)}

    def products(self) -> int:
        group = self.cfg.recommender.consumer_group
        request = ConsumerGroupTopicPartitions(group)
        result = self.admin.list_consumer_group_offsets([request])[group].result()
        committed = {tp.partition: tp.offset for tp in result.topic_partitions
                     if tp.topic == self.topic}
        return records_below(self.mirrored.offsets, committed)

    def internal_lag(self) -> int | None:
        stats = recommender_stats(self.cfg)
        lags = {t: n for t, n in (stats.get("lag") or {}).items() if t not in self.inputs}
        return sum(lags.values()) if stats.get("ready") and lags else None


class CpuMeter:
    """CPU seconds (user + system) of the lab's services, each with its children, of this
    process and of its children (the publisher), from its start to ``result``."""

    def __init__(self, cfg: LabConfig) -> None:
        self.supervisor = lab_supervisor(cfg)
        self.names = [spec.name for spec in all_service_specs(cfg)]
        self.started = time.time()
        self.busy_start = _busy_s()
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self.sample()

    def _groups(self) -> dict[str, list[psutil.Process]]:
        """The processes to measure by name, from one scan of the process table (a scan per
        service cost this process 10 % of a core)."""
        processes = {p.pid: p for p in psutil.process_iter(["ppid"])}
        children: dict[int, list[int]] = {}
        for process in processes.values():
            children.setdefault(process.info["ppid"], []).append(process.pid)

        def tree(pid: int) -> list[psutil.Process]:
            found, todo = [], [pid]
            while todo:
                current = todo.pop()
                if current in processes:
                    found.append(processes[current])
                todo += children.get(current, [])
            return found

        groups = {name: tree(pid) for name in self.names
                  if (pid := self.supervisor.running_pid(name)) is not None}
        me = os.getpid()
        groups["bench: stage samplers, latency probe"] = [processes[me]]
        groups["publisher (the bench's child process)"] = tree(me)[1:]
        return groups

    def sample(self) -> None:
        """Read every process's CPU time; one first seen is counted from its start if it
        started during the run, else from now."""
        for name, group in self._groups().items():
            for process in group:
                try:
                    with process.oneshot():
                        times, created = process.cpu_times(), process.create_time()
                except psutil.Error:
                    continue
                used = times.user + times.system
                self.first.setdefault(process.pid, 0.0 if created >= self.started else used)
                self.last[process.pid] = (name, used)

    def result(self) -> CpuUse:
        """CPU seconds per process name and of the machine since the start."""
        self.sample()
        per_name: dict[str, float] = {}
        for pid, (name, used) in self.last.items():
            per_name[name] = per_name.get(name, 0.0) + used - self.first[pid]
        return CpuUse(per_name, _busy_s() - self.busy_start, time.time() - self.started)


def cpu_at_rest(cfg: LabConfig, seconds: float = REST_WINDOW_S) -> CpuUse:
    """What each process spends while nothing is sent: the platform's fixed cost, which a
    run pays whatever its size."""
    meter = CpuMeter(cfg)
    time.sleep(seconds)
    return meter.result()


def _busy_s() -> float:
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + t.irq + t.softirq)


class LatencyProbe:
    """Search → recommendation while the load runs: one search at a time through the client
    API, a fresh client each, ``pause_s`` apart; the clock stops when the client API serves
    the recommendation."""

    def __init__(self, cfg: LabConfig, run: str, pause_s: float = 0.5) -> None:
        self.cfg, self.run, self.pause_s = cfg, run, pause_s
        self.seconds: list[float] = []
        self.missed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._probe, name="latency", daemon=True)
        self._thread.start()

    def _probe(self) -> None:
        client = ClientApiClient(self.cfg)
        n = 0
        while not self._stop.is_set():
            id_client, n = f"{self.run}-{n}", n + 1
            started = time.monotonic()
            try:
                client.search_response(id_client, SEARCH_WORD).raise_for_status()
                wait_for_recommendations(self.cfg, client, id_client, timeout_s=PROBE_TIMEOUT_S)
                self.seconds.append(time.monotonic() - started)
            except (LabTimeoutError, httpx.HTTPError):
                self.missed += 1
            self._stop.wait(self.pause_s)

    def stop(self) -> Latency:
        self._stop.set()
        self._thread.join()
        return Latency(list(self.seconds), self.missed, PROBE_TIMEOUT_S)


def _publish(paths: list[Path]) -> PublishResult:
    """The lab's publisher at full speed (in the child process)."""
    return publish_files(load_config(), paths, progress=False)


class StageSampler:
    """Reads how many of the run's products each stage holds, and the recommender's lag; a
    stage that cannot be read right now (restarting) keeps its last count."""

    def __init__(self, cfg: LabConfig, first_id: int, total: int, stores: str) -> None:
        self.cfg, self.total, self.stores = cfg, total, stores
        remote = cfg.mirror.remote_topic(cfg.topics.shop_clear)
        self.tails = {
            "published": RunTail(cfg, cfg.topics.shop_raw, "primary", first_id, total),
            "filtered": RunTail(cfg, cfg.topics.shop_clear, "primary", first_id, total),
            "mirrored": RunTail(cfg, remote, cfg.mirror.target, first_id, total)}
        self.recommender = RecommenderWatch(cfg, self.tails["mirrored"])
        self.es = elastic_client(cfg)
        self.counts = dict.fromkeys(STAGES, 0)

    def read(self) -> tuple[dict[str, int], int | None]:
        """The counts per stage now, and the recommender's lag (None: not known now)."""
        self.counts.update({stage: tail.count for stage, tail in self.tails.items()})
        with contextlib.suppress(elastic_transport.TransportError, ApiError):
            # No forced refresh: a search sees what the index's own 1 s refresh made visible.
            self.counts["searchable"] = int(self.es.count(
                index=self.cfg.elastic.index,
                query={"prefix": {"store_id": self.stores}})["count"])
        lag = None
        with contextlib.suppress(KafkaException, httpx.HTTPError):
            self.counts["recommender"] = self.recommender.products()
            lag = self.recommender.internal_lag()
        return dict(self.counts), lag

    def stop(self) -> None:
        for tail in self.tails.values():
            tail.stop()


def _follow(sampler: StageSampler, cpu: CpuMeter, total: int, publishing: Future[PublishResult]
            ) -> list[tuple[float, dict[str, int], int | None]]:
    """Sample once a second (wall clock, counts, lag) until every stage holds ``total`` and
    the recommender's lag is 0, the publisher failed, or the run's timeout."""
    raw: list[tuple[float, dict[str, int], int | None]] = []
    deadline = time.monotonic() + timeout_for(total)
    with tqdm(total=total, desc=f"{total:,} products", unit="product") as bar:
        while time.monotonic() < deadline:
            tick = time.monotonic()
            counts, lag = sampler.read()
            raw.append((time.time(), counts, lag))
            cpu.sample()
            bar.update(min(counts.values()) - bar.n)
            bar.set_postfix_str(" ".join(f"{s[:4]} {n:,}" for s, n in counts.items())
                                + f" lag {lag}")
            if (min(counts.values()) >= total and lag == 0) or (
                    publishing.done() and publishing.exception() is not None):
                break
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    return raw


def _restarts(cfg: LabConfig) -> dict[str, int]:
    supervisor = lab_supervisor(cfg)
    return {spec.name: kept.restarts for spec in all_service_specs(cfg)
            if (kept := supervisor.keeper_state(spec.name)) is not None}


def run_load(cfg: LabConfig, total: int) -> RunReport:
    """Publish ``total`` new products and follow them through every stage; see the module."""
    wait_until_settled(cfg, BACKLOG_TIMEOUT_S)
    first_id = time.time_ns() // 1000  # fresh: µs now; a run of 200,000 spans 0.2 s of ids
    stores = f"e2e-{first_id}-"
    catalog = generate_catalog(total, seed=first_id % 2**32, banned_share=0.0, first_id=first_id)
    for product in catalog.products:
        product["store_id"] = stores + product["store_id"]
    directory = cfg.paths.state / "bench" / f"e2e-{first_id}"
    paths = write_shop_files(catalog.products, directory)
    record_size = avro_record_size(catalog.products[:2000])
    del catalog
    at_rest = cpu_at_rest(cfg)
    sampler = StageSampler(cfg, first_id, total, stores)
    restarts = _restarts(cfg)
    cpu = CpuMeter(cfg)
    probe = LatencyProbe(cfg, f"e2e{first_id}")
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        published = pool.submit(_publish, paths)
        raw = _follow(sampler, cpu, total, published)
        result = published.result()
    latency = probe.stop()
    used = cpu.result()
    sampler.stop()
    shutil.rmtree(directory, ignore_errors=True)
    source = sampler.tails["published"]
    if source.first_ms is None or source.last_ms is None:
        raise SystemExit(f"no product reached {cfg.topics.shop_raw}: {result.problems[:3]}")
    t0 = source.first_ms / 1000
    samples = [Sample(0.0, dict.fromkeys(STAGES, 0))] + [
        Sample(wall - t0, c, lag) for wall, c, lag in raw if wall > t0]
    last_published_s, caught_up_s = source.last_ms / 1000 - t0, caught_up_at(samples, total)
    stamp = f"{datetime.now(UTC):%Y%m%d-%H%M}"  # each section keeps its own plot
    plot = plot_stages(samples, total, PLOTS / f"end_to_end_{total}_{stamp}.png",
                       last_published_s, caught_up_s)
    reference = producer_performance(cfg, total, record_size)
    notes = _notes(cfg, result, sampler.tails, restarts, samples[-1].t_s, total)
    return RunReport(total, record_size, [stage_result(samples, s, total) for s in STAGES],
                     last_published_s, caught_up_s,
                     cpu_rows(used, psutil.cpu_count() or 1, at_rest),
                     100 * used.busy_s / (used.elapsed_s * (psutil.cpu_count() or 1)), latency,
                     reference, total, f"plots/{plot.name}", notes)


def _notes(cfg: LabConfig, result: PublishResult, tails: dict[str, RunTail],
           restarts: dict[str, int], ran_s: float, total: int) -> list[str]:
    """What else the section should say: how the publisher did, disturbances seen."""
    notes = [f"Publisher: {result.delivered:,} delivered, {result.failed} failed, "
             f"{result.rate:,.0f} products/s by its own clock; sampled for {ran_s:.0f} s "
             f"(timeout {timeout_for(total):.0f} s)."]
    others = {stage: tail.others for stage, tail in tails.items() if tail.others}
    if others:
        notes.append("Records of other writers in the same topics during the run (not "
                     "counted): " + ", ".join(f"{s} {n:,}" for s, n in others.items()) + ".")
    restarted = {name: n - restarts.get(name, 0) for name, n in _restarts(cfg).items()
                 if n > restarts.get(name, 0)}
    if restarted:
        notes.append("Restarted by their keepers during the run: " + ", ".join(
            f"{name} ({n}×)" for name, n in restarted.items()) + ".")
    return notes


def producer_performance(cfg: LabConfig, count: int, record_size: int) -> float:
    """Records/s of Kafka's ProducerPerformance with the publisher's producer settings, on a
    bench topic of the primary created for it and deleted after."""
    admin = admin_client(cfg)
    ensure_topics(admin, [cfg.topics.layout.spec(PERF_TOPIC)])
    try:
        done = kafka_tool_output(cfg, "producer-perf-test", [
            "--topic", PERF_TOPIC, "--num-records", str(count), "--record-size",
            str(record_size), "--throughput", "-1", "--command-property", "acks=all",
            "--command-property", "linger.ms=20", "--command-property", "batch.size=1000000",
            "--command-property", "compression.type=lz4"], timeout_s=600)
    finally:
        admin.delete_topics([PERF_TOPIC])[PERF_TOPIC].result()
    rates = re.findall(r"([\d.]+) records/sec", done.stdout)
    if done.returncode or not rates:
        raise SystemExit(f"ProducerPerformance failed (exit {done.returncode}): "
                         f"{done.stderr.strip()[-500:]}")
    return float(rates[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, nargs="+", default=[20_000, 200_000])
    args = parser.parse_args()
    cfg = load_config()
    require_platform(cfg)
    reports = [run_load(cfg, total) for total in args.products]
    cores = psutil.cpu_count()
    write_results([
        "", f"## Whole platform under load — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"Machine: {machine()}. Every service up on the same {cores} cores; N new products "
        "published at once (the lab's publisher at full speed, in a child process); each "
        "stage sampled once a second from the first publish. Rate: N over the time a stage "
        "took to hold all N; steady: between 25 % and 75 % of N. CPU: user + system seconds "
        "from the publish to the end of sampling.",
        *(line for report in reports for line in render_run(report)),
    ])


if __name__ == "__main__":
    main()
