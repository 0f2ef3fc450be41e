"""The products sink under faults, on the real stack: Elasticsearch stopped for a minute while
products flow, and the Connect worker killed with ``kill -9`` mid-stream. The oracle is
``pokupai verify``: the latest record of every key of ``shop-clear``, of its mirror and of the
index agree, with no new dead letter."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import ServiceNotReadyError
from pokupai_lib.ingest.checks import prepare_shop_files, wait_for_filter
from pokupai_lib.ingest.publisher import publish_files
from pokupai_lib.kafka.topic_reader import end_offsets
from pokupai_lib.mirroring.checks import wait_for_mirror
from pokupai_lib.runtime.supervisor import lab_supervisor
from pokupai_lib.runtime.wait import wait_until
from pokupai_lib.search.connect import CONNECT_SERVICE, connect_spec, wait_until_running
from pokupai_lib.search.elastic import ELASTIC_SERVICE, index_count, start_elastic
from pokupai_lib.search.indexing import wait_for_index
from pokupai_lib.verify.checks import VerifyReport, verify

__all__ = ["SinkFaultOutcome", "elastic_outage", "kill_connect_mid_stream"]


@dataclass(frozen=True)
class SinkFaultOutcome:
    """What one fault left behind once the sink caught up."""

    fault: str
    published: int
    indexed_during_fault: int
    new_dead_letters: int
    seconds_to_catch_up: float
    stages: VerifyReport

    @property
    def index_equals_source(self) -> bool:
        """Every key's latest record agrees in ``shop-clear``, its mirror and the index."""
        return self.stages.ok

    def summary(self) -> str:
        return (f"{self.fault}: {self.published} products published; index equals the "
                f"mirrored shop-clear: {self.index_equals_source}; new dead letters: "
                f"{self.new_dead_letters}; caught up {self.seconds_to_catch_up:.0f} s after\n"
                f"{self.stages.summary()}")


def _publish(cfg: LabConfig, count: int, seed: int) -> int:
    catalog, paths = prepare_shop_files(cfg, count, seed=seed, with_bad_lines=False,
                                        first_id=random.randint(10**8, 9 * 10**8))  # noqa: S311
    publish_files(cfg, paths, progress=False)
    return len(catalog.products)


def _dead_letters(cfg: LabConfig) -> int:
    return sum(end_offsets(cfg, cfg.connect.dlq_topic, cluster=cfg.mirror.target).values())


def _caught_up(cfg: LabConfig, fault: str, published: int, during: int, letters: int
               ) -> SinkFaultOutcome:
    started = time.monotonic()
    wait_for_index(cfg)  # raises with both counts and the connector's state
    caught_up_s = time.monotonic() - started
    stages = verify(cfg, wait_s=cfg.timeouts.catch_up_s, stages=["mirror", "index"])
    return SinkFaultOutcome(fault, published, during, _dead_letters(cfg) - letters, caught_up_s,
                            stages)


def elastic_outage(cfg: LabConfig, down_s: float = 60.0, count: int = 500,
                   seed: int = 4301) -> SinkFaultOutcome:
    """Stop Elasticsearch, publish ``count`` products, keep it down ``down_s`` seconds in all,
    start it again and wait until the index equals the source."""
    supervisor, letters = lab_supervisor(cfg), _dead_letters(cfg)
    supervisor.stop(ELASTIC_SERVICE, cfg.service_stop_timeout_s)
    stopped = time.monotonic()
    try:
        published = _publish(cfg, count, seed)
        wait_for_filter(cfg)
        wait_for_mirror(cfg)  # every product reached the sink's topic while the index is down
        time.sleep(max(0.0, down_s - (time.monotonic() - stopped)))  # the outage itself
    finally:
        start_elastic(cfg, supervisor)
    wait_until_running(cfg, cfg.connect.sink_name)
    return _caught_up(cfg, f"Elasticsearch down {down_s:.0f} s", published, 0, letters)


def kill_connect_mid_stream(cfg: LabConfig, count: int = 3000, seed: int = 4302
                            ) -> SinkFaultOutcome:
    """Publish ``count`` products, ``kill -9`` the Connect worker once the index has begun to
    take them, let its keeper restart it, and wait until the index equals the source."""
    supervisor, letters = lab_supervisor(cfg), _dead_letters(cfg)
    if supervisor.worker_pid(CONNECT_SERVICE) is None:
        raise ServiceNotReadyError("Kafka Connect is not running; start it with pokupai up")
    before = index_count(cfg)
    published = _publish(cfg, count, seed)
    wait_until(lambda: index_count(cfg), until=lambda n: n > before, timeout_s=60,
               every_s=0.1, what="the index to take the first new products",
               log=cfg.paths.log(CONNECT_SERVICE))
    during = index_count(cfg) - before
    supervisor.kill_worker(connect_spec(cfg))
    wait_until_running(cfg, cfg.connect.sink_name)
    return _caught_up(cfg, "Connect worker killed with kill -9", published, during, letters)
