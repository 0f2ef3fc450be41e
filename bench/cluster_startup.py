"""Benchmark: seconds from nothing running to a ready primary cluster, and the brokers' RSS.

Stops the primary cluster if it runs, starts it again (caches warm), waits until all three
brokers are registered, then samples each broker's resident memory after a short settle.
Appends a dated section with the machine's description to ``bench/results.md``.
"""

from __future__ import annotations

import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

from pokupai_lib.config import load_config
from pokupai_lib.kafka.cluster import start_cluster, stop_cluster
from pokupai_lib.lab import bootstrap, lab_supervisor

RESULTS = Path(__file__).with_name("results.md")
RUNS = 3
SETTLE_S = 20
# How long a bench waits for the platform to finish what earlier runs gave it.
BACKLOG_TIMEOUT_S = 1800.0


def machine() -> str:
    mem_gib = psutil.virtual_memory().total / 2**30
    return (f"{platform.node()}: {os.cpu_count()} cores, {mem_gib:.0f} GiB, "
            f"{platform.platform()}, Python {platform.python_version()}")


def main() -> None:
    cfg = load_config()
    bootstrap(cfg)
    supervisor = lab_supervisor(cfg)
    seconds = []
    for _ in range(RUNS):
        stop_cluster(cfg, "primary", supervisor)
        started = time.perf_counter()
        start_cluster(cfg, "primary", supervisor)
        seconds.append(time.perf_counter() - started)
    time.sleep(SETTLE_S)
    rss = {}
    for node in cfg.primary.nodes:
        pid = supervisor.running_pid(node.name)
        if pid is None:
            raise SystemExit(f"{node.name} stopped during the benchmark; see .lab/logs/")
        rss[node.name] = psutil.Process(pid).memory_info().rss / 2**20
    lines = [
        f"\n## Primary cluster start-up — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"Machine: {machine()}. Kafka {cfg.versions.kafka}, heap {cfg.primary.heap_mb} MiB "
        f"per node, caches warm, {RUNS} runs from all nodes stopped to 3 registered brokers.",
        "",
        "| measure | value |",
        "| --- | --- |",
        *(f"| start-up run {i + 1} | {s:.1f} s |" for i, s in enumerate(seconds)),
        f"| start-up best / worst | {min(seconds):.1f} s / {max(seconds):.1f} s |",
        *(f"| RSS {name} ({SETTLE_S} s after ready) | {mib:.0f} MiB |"
          for name, mib in rss.items()),
        f"| RSS of the three brokers | {sum(rss.values()):.0f} MiB |",
    ]
    write_results(lines)


def write_results(lines: list[str]) -> None:
    """Append a section to results.md and show it."""
    with RESULTS.open("a") as out:
        out.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
