"""Benchmark: resident memory of the lab's Python services, idle and after a small load.

With the whole platform up, each Python service (filter, recommender, ban-words API, client
API, alert receiver) is restarted so its idle figure is a fresh process's, not what earlier
benchmarks left behind; its worker's RSS is read after ``--settle`` seconds. Then a small load
(``--products`` products through the filter, ``--searches`` searches through the client API,
which the recommender consumes, ``--requests`` ban-list reads) and the RSS again.
Appends the results to results.md.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import psutil
from cluster_startup import machine, write_results

from pokupai_lib.bans.client import BanApiClient
from pokupai_lib.client_api.client import ClientApiClient
from pokupai_lib.config import LabConfig, load_config
from pokupai_lib.ingest.checks import prepare_shop_files, wait_for_filter
from pokupai_lib.ingest.publisher import publish_files
from pokupai_lib.lab import up_platform
from pokupai_lib.recommendations.checks import wait_until_caught_up
from pokupai_lib.runtime.services import (
    ALERT_RECEIVER,
    BANWORDS_API,
    CLIENT_API,
    FILTER,
    RECOMMENDER,
    start_alert_receiver,
    start_banwords_api,
    start_client_api,
    start_filter,
    start_recommender,
)
from pokupai_lib.runtime.supervisor import Supervisor, lab_supervisor

STARTERS: dict[str, Callable[[LabConfig, Supervisor], int]] = {
    FILTER: start_filter, RECOMMENDER: start_recommender, BANWORDS_API: start_banwords_api,
    CLIENT_API: start_client_api, ALERT_RECEIVER: start_alert_receiver}
TERMS = ("Красота", "часы", "кофемашина", "наушники", "смартфон", "чайник")


def worker_rss_mib(supervisor: Supervisor, name: str) -> float:
    """Resident memory of the process doing ``name``'s work (the keeper's child), in MiB."""
    pid = supervisor.worker_pid(name)
    if pid is None:
        raise SystemExit(f"{name} is not running; see .lab/logs/{name}.log")
    return psutil.Process(pid).memory_info().rss / 2**20


def restart_all(cfg: LabConfig, supervisor: Supervisor) -> None:
    """Stop and start every Python service, so each one's idle RSS is a fresh process's."""
    for name, start in STARTERS.items():
        supervisor.stop(name, cfg.service_stop_timeout_s)
        start(cfg, supervisor)


def small_load(cfg: LabConfig, products: int, searches: int, requests: int) -> None:
    """Products through the filter, searches through the client API (into the recommender),
    ban-list reads from the ban-words API and health checks of the alert receiver."""
    _catalog, paths = prepare_shop_files(cfg, products, seed=7_777, with_bad_lines=False,
                                         first_id=random.randint(10**9, 2 * 10**9))  # noqa: S311
    publish_files(cfg, paths, progress=False)
    wait_for_filter(cfg)
    client = ClientApiClient(cfg)
    for i in range(searches):
        client.search_response(f"memory-{i % 50}", TERMS[i % len(TERMS)]).raise_for_status()
    wait_until_caught_up(cfg)
    bans = BanApiClient(cfg)
    for _ in range(requests):
        bans.words()
    for _ in range(requests):
        httpx.get(f"{cfg.alert_receiver.url}/health", timeout=5).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settle", type=float, default=20.0)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    cfg = load_config()
    up_platform(cfg)
    supervisor = lab_supervisor(cfg)
    start_alert_receiver(cfg, supervisor)  # up_platform skips it when monitoring is missing
    restart_all(cfg, supervisor)
    time.sleep(args.settle)
    idle = {name: worker_rss_mib(supervisor, name) for name in STARTERS}
    small_load(cfg, args.products, args.searches, args.requests)
    time.sleep(args.settle)
    loaded = {name: worker_rss_mib(supervisor, name) for name in STARTERS}
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    write_results([
        "", f"## Python services' RSS — {now}",
        f"Machine: {machine()}. Each service's worker process (the keeper's child), freshly "
        f"restarted, {args.settle:.0f} s after ready; after load: {args.products} products "
        f"through the filter, {args.searches} searches (the recommender consumes them), "
        f"{args.requests} ban-list reads and {args.requests} health checks of the alert "
        f"receiver, then {args.settle:.0f} s.", "",
        "| service | idle | after load |",
        "| --- | --- | --- |",
        *(f"| {name} | {idle[name]:.0f} MiB | {loaded[name]:.0f} MiB |" for name in STARTERS),
        f"| all five | {sum(idle.values()):.0f} MiB | {sum(loaded.values()):.0f} MiB |",
    ])


if __name__ == "__main__":
    main()
