"""The filter across a fault in mid-stream (``kill -9``, the whole cluster gone for a minute):
exactly once, record by record, for the notebooks and the tests."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka.admin import AdminClient

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import LabError
from pokupai_lib.ingest.catalog import generate_catalog, write_shop_files
from pokupai_lib.ingest.checks import (
    committed_offsets,
    wait_for_filter,
    waiting_through_restarts,
)
from pokupai_lib.ingest.publisher import publish_files
from pokupai_lib.kafka.clients import admin_client
from pokupai_lib.kafka.cluster import restore_preferred_leaders, start_cluster, stop_cluster
from pokupai_lib.kafka.topic_reader import end_offsets, read_range
from pokupai_lib.runtime.services import FILTER
from pokupai_lib.runtime.supervisor import lab_supervisor
from pokupai_lib.runtime.wait import wait_until

__all__ = ["ExactlyOnceReport", "filter_across", "kill_filter_worker", "primary_outage"]


@dataclass(frozen=True)
class ExactlyOnceReport:
    """Products published across a fault, and what the filter wrote for them."""

    fault: str
    total: int
    processed_before_fault: int
    allowed: set[str]
    banned: set[str]
    written: Counter[str]
    tombstoned: set[str]
    pid_before: int | None
    pid_after: int | None
    restarts: int

    @property
    def mid_stream(self) -> bool:
        """Work was left when the fault came: some records done, not all."""
        return 0 < self.processed_before_fault < self.total

    @property
    def missing(self) -> set[str]:
        return self.allowed - set(self.written)

    @property
    def repeated(self) -> dict[str, int]:
        return {key: n for key, n in self.written.items() if n > 1}

    @property
    def exactly_once(self) -> bool:
        return (set(self.written) == self.allowed and not self.repeated
                and self.tombstoned == self.banned)

    def summary(self) -> str:
        return (f"{self.fault}: mid-stream {self.mid_stream}; products {self.total}, allowed "
                f"written exactly once {self.exactly_once} (missing {len(self.missing)}, "
                f"repeated {len(self.repeated)}), banned tombstoned "
                f"{self.tombstoned == self.banned}; filter restarted by its keeper "
                f"{self.restarts} time(s)")


def _worker(cfg: LabConfig) -> tuple[int | None, int]:
    supervisor = lab_supervisor(cfg)
    state = supervisor.keeper_state(FILTER)
    return supervisor.worker_pid(FILTER), state.restarts if state else 0


Fault = Callable[[LabConfig], None]


def kill_filter_worker(cfg: LabConfig) -> None:
    """``kill -9`` the filter (an open transaction, no goodbye); its keeper restarts it."""
    pid = lab_supervisor(cfg).worker_pid(FILTER)
    if pid is None:
        raise LabError("the filter is not running; start it with pokupai up")
    os.kill(pid, signal.SIGKILL)


def primary_outage(down_s: float = 65.0) -> Fault:
    """A fault: the whole primary cluster stopped for ``down_s`` (past the filter's 60 s
    transaction timeout, so its open transaction is aborted and its epoch bumped), then
    started again with its preferred leaders restored."""

    def outage(cfg: LabConfig) -> None:
        supervisor = lab_supervisor(cfg)
        stop_cluster(cfg, "primary", supervisor)
        time.sleep(down_s)
        start_cluster(cfg, "primary", supervisor)
        restore_preferred_leaders(cfg, "primary")

    return outage


def _clear_since(cfg: LabConfig, start: dict[int, int]) -> tuple[Counter[str], set[str]]:
    written: Counter[str] = Counter()
    tombstoned: set[str] = set()
    for record in read_range(cfg, cfg.topics.shop_clear, start):
        key = (record.key or b"").decode()
        if record.value is None:
            tombstoned.add(key)
        else:
            written[key] += 1
    return written, tombstoned


def _committed_since(admin: AdminClient, cfg: LabConfig, start: dict[int, int]) -> int:
    """Records of ``shop-raw`` the filter committed since ``start``."""
    return sum(offset - max(start.get(p, 0), 0)
               for p, offset in committed_offsets(admin, cfg).items() if offset >= 0)


def _publish_in_chunks(cfg: LabConfig, products: list[dict[str, Any]], chunk: int, tag: str,
                       problems: list[str]) -> None:
    """Publish ``products`` a chunk at a time (a stream, not one burst), waiting through an
    outage: records queued while the cluster is away are delivered when it is back."""
    for n in range(0, len(products), chunk):
        paths = write_shop_files(products[n:n + chunk],
                                 cfg.paths.state / "shops" / f"{tag}-{n // chunk}")
        result = publish_files(cfg, paths, progress=False, flush_timeout_s=240)
        problems.extend(str(problem) for problem in result.problems)
        time.sleep(0.1)


def filter_across(cfg: LabConfig, fault: Fault, fault_name: str,
                  count: int = 12_000, seed: int = 11, first_id: int = 10_000_000,
                  after: int = 2_000, chunk: int = 1_000) -> ExactlyOnceReport:
    """Publish ``count`` products as a stream of chunks, bring on ``fault`` once the filter has
    processed ``after`` of them (the rest still on its way), wait until the filter has caught
    up, and compare ``shop-clear`` with the catalog."""
    catalog = generate_catalog(count, seed=seed, first_id=first_id)
    wait_for_filter(cfg)
    start = end_offsets(cfg, cfg.topics.shop_clear)
    pid_before, restarts_before = _worker(cfg)
    admin = admin_client(cfg)
    committed_at_start = committed_offsets(admin, cfg)
    problems: list[str] = []
    publisher = threading.Thread(target=_publish_in_chunks, name="publish-stream", args=(
        cfg, catalog.products, chunk, f"fault-{seed}-{first_id}", problems))
    publisher.start()
    # the group's committed offsets, not the filter's own counter: a filter restarting
    # meanwhile (its keeper brings it back) starts that counter again from 0
    done = wait_until(lambda: _committed_since(admin, cfg, committed_at_start),
                      until=lambda processed: processed >= after, timeout_s=120, every_s=0.05,
                      what=f"the filter to process {after} of the {count} products",
                      ignore=waiting_through_restarts, log=cfg.paths.log(FILTER))
    fault(cfg)
    publisher.join()
    if problems:
        raise LabError(f"publishing failed: {problems[:3]}")
    wait_for_filter(cfg, timeout_s=300)
    written, tombstoned = _clear_since(cfg, start)
    ids = {p["product_id"] for p in catalog.products}
    pid_after, restarts_after = _worker(cfg)
    return ExactlyOnceReport(
        fault=fault_name, total=count, processed_before_fault=done,
        allowed=ids - catalog.banned_ids, banned=set(catalog.banned_ids),
        written=Counter({k: n for k, n in written.items() if k in ids}),
        tombstoned=tombstoned & ids, pid_before=pid_before, pid_after=pid_after,
        restarts=restarts_after - restarts_before)
