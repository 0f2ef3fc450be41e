"""Benchmark: moderation on the whole running platform.

1. Ban added → withdrawn, with at least ``--live`` live products in the filter's state
   (more are published first when it holds fewer). Each of ``--rounds`` rounds publishes
   ``--markers`` products carrying a fresh word and waits until search finds them; then the
   word is banned through the API (with the moderator token) and, for each of those products,
   the time from the API's answer to its tombstone in ``shop-clear`` (the record's timestamp)
   and to its absence from search through the client API is taken. The ban is lifted after.
2. Filter throughput before and after in the same run: the same ``--count`` products, in a
   scratch copy of the pipeline's topics, filtered by the filter of ``--before`` (a git
   worktree) and by today's, ``--repeats`` times each, alternating; each a fresh process with
   its own group, each rate timed from its first committed batch to its last record
   (start-up excluded); the medians are compared.
3. The filter's RSS and its products per status.

Appends a section to results.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
from cluster_startup import BACKLOG_TIMEOUT_S, machine, write_results

from pokupai_lib.bans.client import BanApiClient
from pokupai_lib.client_api.client import ClientApiClient
from pokupai_lib.config import LabConfig, load_config
from pokupai_lib.ingest.catalog import generate_catalog, write_shop_files
from pokupai_lib.ingest.checks import (
    filter_stats,
    prepare_shop_files,
    wait_for_filter,
    wait_for_filter_bans,
)
from pokupai_lib.ingest.moderation_checks import spelled_in_letters
from pokupai_lib.ingest.publisher import publish_files
from pokupai_lib.kafka.acls import (
    PREFIXED,
    TOPIC,
    AclGrant,
    D,
    R,
    W,
    ensure_acls,
    grants_for,
)
from pokupai_lib.kafka.clients import admin_client
from pokupai_lib.kafka.topic_reader import end_offsets, read_range
from pokupai_lib.kafka.topics import ensure_topics
from pokupai_lib.runtime.services import FILTER, start_filter
from pokupai_lib.runtime.supervisor import lab_supervisor
from pokupai_lib.runtime.wait import wait_until
from pokupai_lib.schema.registration import product_subject, register_product_schema
from pokupai_lib.schema.registry import registry_client
from pokupai_lib.stage_checks import wait_until_settled


def _publish(cfg: LabConfig, products: list[dict[str, Any]], tag: str) -> None:
    result = publish_files(cfg, write_shop_files(products, cfg.paths.state / "shops" / tag),
                           progress=False)
    if result.sent != len(products):
        raise SystemExit(f"publishing {tag} failed: {result.problems[:3]}")


def ensure_live(cfg: LabConfig, live: int) -> int:
    """Publish products until the filter's state holds ``live`` live ones; return the count."""
    have = int(filter_stats(cfg)["products"].get("live", 0))
    if have < live:
        catalog = generate_catalog(live - have, seed=have, banned_share=0.0,
                                   first_id=50_000_000 + have)
        publish_files(cfg, write_shop_files(catalog.products,
                                            cfg.paths.state / "shops" / f"bench-live-{have}"),
                      progress=False)
        wait_until_settled(cfg, BACKLOG_TIMEOUT_S)
    return int(filter_stats(cfg)["products"].get("live", 0))


def _searchable(cfg: LabConfig, word: str) -> set[str]:
    found = ClientApiClient(cfg).search_products("bench-moderation", word)
    return {str(p["product_id"]) for p in found}


def ban_round(cfg: LabConfig, api: BanApiClient, word: str, markers: int, first_id: int
              ) -> tuple[list[float], list[float]]:
    """One round: seconds from the ban's answer to each marker's tombstone, and to its
    absence from search."""
    base = generate_catalog(1, seed=3, banned_share=0.0).products[0]
    ids = [str(first_id + i) for i in range(markers)]
    _publish(cfg, [{**base, "product_id": pid, "sku": f"BM-{pid}",
                    "name": f"{base['name']} {word}"} for pid in ids], f"bench-{word}")
    wait_until(lambda: _searchable(cfg, word), until=lambda found: set(ids) <= found,
               timeout_s=120, every_s=0.5, what=f"the markers of {word!r} to be searchable")
    start = end_offsets(cfg, cfg.topics.shop_clear)
    api.add(word).raise_for_status()
    banned_at = time.time()
    gone: dict[str, float] = {}
    try:
        while len(gone) < markers and time.time() - banned_at < 120:
            now = time.time()
            for pid in set(ids) - _searchable(cfg, word) - set(gone):
                gone[pid] = now - banned_at
            time.sleep(0.1)
        tombstoned: dict[str, float] = {}
        for record in read_range(cfg, cfg.topics.shop_clear, start):
            pid = (record.key or b"").decode()
            if pid in ids and record.value is None:
                tombstoned.setdefault(pid, record.timestamp_ms / 1000 - banned_at)
    finally:
        api.remove(word).raise_for_status()
    if len(tombstoned) < markers or len(gone) < markers:
        raise SystemExit(f"round {word!r}: {len(tombstoned)} tombstoned and {len(gone)} gone "
                         f"from search of {markers}")
    return list(tombstoned.values()), list(gone.values())


def _filter_rate(cfg: LabConfig, count: int, timeout_s: float = 1800) -> float:
    """Products/s of the filter serving stats now, from its first committed batch until it has
    processed all ``count`` records (polled every 50 ms: its lag gauge moves once a second)."""
    def stats() -> dict[str, Any] | None:
        try:
            return filter_stats(cfg)
        except (httpx.HTTPError, ValueError):
            return None
    first = wait_until(stats, until=lambda s: s["processed"] > 0, timeout_s=300, every_s=0.05,
                       what="the filter's first processed record")
    started = time.perf_counter()
    wait_until(stats, until=lambda s: s["processed"] >= count, timeout_s=timeout_s,
               every_s=0.05, what=f"the filter to process {count:,} records")
    return float(count - first["processed"]) / (time.perf_counter() - started)


BENCH_PREFIX = "bench-moderation-"


def _scratch_grants() -> list[AclGrant]:
    return [AclGrant("filter", TOPIC, BENCH_PREFIX, (R, W, D), PREFIXED),
            AclGrant("shop-publisher", TOPIC, BENCH_PREFIX, (W, D), PREFIXED)]


def filter_before_and_after(cfg: LabConfig, count: int, before: str, repeats: int
                            ) -> tuple[list[float], list[float]]:
    """The rates of the filter of commit ``before`` and of today's, ``repeats`` times each,
    alternating (one machine's rate drifts by half between minutes while the platform's
    background work comes and goes), each a fresh process with its own group, through the
    same ``count`` products in a scratch copy of the pipeline's topics (so the old filter,
    which knows nothing of moderation, never writes shop-clear); today's filter gets a fresh
    state topic each time."""
    run = int(time.time())
    topics = {role: f"{BENCH_PREFIX}{role}" for role in ("raw", "clear", "dlq")}
    states = [f"{BENCH_PREFIX}state-{run}-{i}" for i in range(repeats)]
    scratch = cfg.model_copy(update={"topics": cfg.topics.model_copy(
        update={"shop_raw": topics["raw"]})})
    admin, registry = admin_client(cfg), registry_client(cfg)
    ensure_topics(admin, [cfg.topics.layout.spec(name) for name in topics.values()]
                  + [cfg.topics.layout.spec(name, compacted=True) for name in states])
    ensure_acls(admin, grants_for(cfg, "primary") + _scratch_grants())
    register_product_schema(registry, product_subject(scratch))
    supervisor = lab_supervisor(cfg)
    rates: dict[str, list[float]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), before], check=True,
                       capture_output=True)
        try:
            _catalog, paths = prepare_shop_files(cfg, count, seed=77, with_bad_lines=False,
                                                 first_id=60_000_000)
            publish_files(scratch, paths, progress=False)
            supervisor.stop(FILTER)
            for i, name in enumerate(["before", "after"] * repeats):
                code = tree if name == "before" else cfg.paths.root
                env = {**os.environ, "PYTHONPATH": str(code),
                       "LAB_PATHS__ROOT": str(cfg.paths.root),
                       "LAB_TOPICS__SHOP_RAW": topics["raw"],
                       "LAB_TOPICS__SHOP_CLEAR": topics["clear"],
                       "LAB_TOPICS__SHOP_DLQ": topics["dlq"],
                       "LAB_FILTER__GROUP_ID": f"filter-bench-{name}-{run}-{i}",
                       "LAB_FILTER__TRANSACTIONAL_ID": f"filter-bench-{name}-{run}-{i}"}
                if name == "after":  # the old filter's settings have no such topic
                    env["LAB_TOPICS__SHOP_MODERATION"] = states[i // 2]
                process = subprocess.Popen([sys.executable, "-m", "pokupai_lib.ingest.app"],
                                           env=env, cwd=code, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL)
                try:
                    rates[name].append(_filter_rate(cfg, count))
                finally:
                    process.terminate()
                    process.wait(60)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], check=False)
            start_filter(cfg, supervisor)
            for future in admin.delete_topics([*topics.values(), *states]).values():
                future.result()
            ensure_acls(admin, grants_for(cfg, "primary"))
            registry.delete_subject(product_subject(scratch))
            registry.delete_subject(product_subject(scratch), permanent=True)
    return rates["before"], rates["after"]


def _ready(cfg: LabConfig) -> bool:
    try:
        return bool(filter_stats(cfg)["ready"])
    except (httpx.HTTPError, ValueError):
        return False


def _rates(rates: list[float]) -> str:
    return ", ".join(f"{rate:,.0f}" for rate in rates)


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--live", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--markers", type=int, default=10)
    parser.add_argument("--count", type=int, default=60_000)
    parser.add_argument("--repeats", type=int, default=3,
                        help="filter runs of each commit, alternating")
    parser.add_argument("--before", default="91407e7",
                        help="the commit whose filter is the reference (before moderation)")
    args = parser.parse_args()
    cfg = load_config()
    live = ensure_live(cfg, args.live)
    api = BanApiClient(cfg)
    run = int(time.time())
    tombstoned: list[float] = []
    gone: list[float] = []
    for r in range(args.rounds):
        word = "бенчмарк" + spelled_in_letters(run * 100 + r)
        t, g = ban_round(cfg, api, word, args.markers, 70_000_000 + (run % 10_000) * 100
                         + r * args.markers)
        tombstoned += t
        gone += g
    wait_for_filter_bans(cfg)
    wait_for_filter(cfg)
    filter_process = psutil.Process(lab_supervisor(cfg).worker_pid(FILTER))
    # With its judging child (the state lives in the filter; the child holds the word forms).
    rss_mb = sum(p.memory_info().rss for p in [filter_process, *filter_process.children()]
                 ) / 2**20
    products = filter_stats(cfg)["products"]
    befores, afters = filter_before_and_after(cfg, args.count, args.before, args.repeats)
    before, after = float(np.median(befores)), float(np.median(afters))
    lines = [
        f"\n## Moderation — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"Machine: {machine()}. The whole platform up; {live:,} live products in the filter's "
        f"state before the rounds ({products}).",
        "",
        "| measure | p50 | p99 | target |",
        "| --- | --- | --- | --- |",
        f"| ban added → each matching live product tombstoned in shop-clear "
        f"({args.rounds} rounds × {args.markers}) | {_p(tombstoned, 50):.2f} s | "
        f"{_p(tombstoned, 99):.2f} s | p99 ≤ 5 s |",
        f"| ban added → gone from search (client API) | {_p(gone, 50):.2f} s | "
        f"{_p(gone, 99):.2f} s | p99 ≤ 10 s |",
        "",
        f"| filter, same backlog of {args.count:,} products, start-up excluded, "
        f"{args.repeats} runs each, alternating | products/s, median | runs |",
        "| --- | --- | --- |",
        f"| before moderation ({args.before}) | {before:,.0f} | {_rates(befores)} |",
        f"| with moderation state and the new matching | {after:,.0f} "
        f"({after / before:.0%} of before; target ≥ 90 %) | {_rates(afters)} |",
        "",
        f"Filter RSS (with its judging children) after the rounds: {rss_mb:,.0f} MiB for "
        f"{sum(products.values()):,} products in its state.",
    ]
    write_results(lines)


if __name__ == "__main__":
    main()
