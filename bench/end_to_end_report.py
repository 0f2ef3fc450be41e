"""The pure part of the end-to-end benchmark (``end_to_end.py``): rates from the sampled stage
curves, the CPU table, the markdown section and the plot. No platform needed (unit-tested)."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt

STAGES = ("published", "filtered", "mirrored", "searchable", "recommender")
STAGE_PATHS = {
    "published": "publisher → shop-raw",
    "filtered": "exactly-once filter → shop-clear",
    "mirrored": "MirrorMaker 2 → primary.shop-clear on the secondary",
    "searchable": "Connect → Elasticsearch, seen by a search",
    "recommender": "recommender committed them in primary.shop-clear",
}
SEARCHABLE_MIN_RATE = 3_000.0
SEARCHABLE_MIN_SHARE = 0.5
CATCH_UP_MAX_S = 60.0
CATCH_UP_TARGET_N = 20_000  # the design sets the catch-up target for this many products
LATENCY_P99_MAX_S = 3.0


@dataclass(frozen=True)
class Sample:
    """The products of the run each stage held ``t_s`` seconds after the first publish, and
    the recommender's lag on its internal topics then (None: not known at that moment)."""

    t_s: float
    counts: Mapping[str, int]
    recommender_lag: int | None = None


@dataclass(frozen=True)
class StageResult:
    """One stage: what it held at the end, when it held all products (None: never) and its
    rates in products/s (``rate``: N over the time it took, or held over the whole run when it
    never got there; ``steady``: over the middle of its curve)."""

    stage: str
    held: int
    reached_s: float | None
    rate: float
    steady: float | None


@dataclass(frozen=True)
class CpuRow:
    """CPU seconds of one process (or group) over the run, as % of one core and as a share
    of what the machine's cores could give in that time; ``idle_core_pct``: its pace on the
    idle platform just before the run, and ``idle_cpu_s`` what that pace would have spent in
    the run's time (None: not measured)."""

    process: str
    cpu_s: float
    core_pct: float
    machine_pct: float
    idle_core_pct: float | None = None
    idle_cpu_s: float | None = None


@dataclass(frozen=True)
class Latency:
    """Search → recommendation under load: seconds of each served search, and the searches
    whose recommendation did not come within the probe's timeout."""

    seconds: Sequence[float]
    missed: int
    timeout_s: float

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (linear, as pandas and numpy give it), None without samples."""
        return float(np.quantile(self.seconds, q)) if len(self.seconds) else None


@dataclass(frozen=True)
class RunReport:
    """Everything one run of N products measured, ready to render."""

    total: int
    record_size: int
    stages: Sequence[StageResult]
    last_published_s: float | None
    caught_up_s: float | None
    cpu: Sequence[CpuRow]
    machine_busy_pct: float
    latency: Latency
    reference_rate: float
    reference_count: int
    plot: str
    notes: Sequence[str] = ()

    def stage(self, name: str) -> StageResult:
        return next(s for s in self.stages if s.stage == name)

    @property
    def catch_up_s(self) -> float | None:
        """Seconds from the last product published to the recommender at lag 0."""
        if self.caught_up_s is None or self.last_published_s is None:
            return None
        return self.caught_up_s - self.last_published_s


def records_below(offsets: Mapping[int, Sequence[int]], committed: Mapping[int, int]) -> int:
    """How many of the records at ``offsets`` (ascending, per partition) a consumer group has
    committed, given its committed offset (the next to read) per partition."""
    return sum(bisect.bisect_left(partition_offsets, committed.get(partition, -1))
               for partition, partition_offsets in offsets.items())


def crossing_time(times: Sequence[float], counts: Sequence[int], level: float) -> float | None:
    """When a sampled curve first reached ``level``, linearly interpolated between the two
    samples around it (the first sample's time if it starts there); None if it never did."""
    for i, (t, count) in enumerate(zip(times, counts, strict=True)):
        if count >= level:
            if i == 0 or count == counts[i - 1]:
                return t
            t0, c0 = times[i - 1], counts[i - 1]
            return t0 + (t - t0) * (level - c0) / (count - c0)
    return None


def steady_rate(times: Sequence[float], counts: Sequence[int], total: int,
                low: float = 0.25, high: float = 0.75) -> float | None:
    """Products/s between the curve's crossings of ``low`` and ``high`` of ``total``: its pace
    once started and before its tail; None when it did not get that far."""
    t_low = crossing_time(times, counts, low * total)
    t_high = crossing_time(times, counts, high * total)
    if t_low is None or t_high is None or t_high <= t_low:
        return None
    return (high - low) * total / (t_high - t_low)


def stage_result(samples: Sequence[Sample], stage: str, total: int) -> StageResult:
    """One stage's numbers from the samples (time-ordered, the first at the first publish)."""
    times = [s.t_s for s in samples]
    counts = [s.counts.get(stage, 0) for s in samples]
    held = counts[-1] if counts else 0
    reached = crossing_time(times, counts, total)
    if reached is not None and reached > 0:
        rate = total / reached
    else:
        rate = held / times[-1] if times and times[-1] > 0 else 0.0
    return StageResult(stage, held, reached, rate, steady_rate(times, counts, total))


def caught_up_at(samples: Sequence[Sample], total: int) -> float | None:
    """The first time the recommender had committed every product and its lag on its
    internal topics was 0."""
    return next((s.t_s for s in samples if s.counts.get("recommender", 0) >= total
                 and s.recommender_lag == 0), None)


ELSEWHERE = "everything else (other processes, kernel)"


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds per process name and of the whole machine over ``elapsed_s`` seconds."""

    per_process: Mapping[str, float]
    busy_s: float
    elapsed_s: float

    def pace(self, name: str) -> float:
        """Cores ``name`` kept busy (CPU-s per s); ``ELSEWHERE``: the machine minus the
        processes."""
        if name == ELSEWHERE:
            spent = self.busy_s - sum(self.per_process.values())
        else:
            spent = self.per_process.get(name, 0.0)
        return max(spent, 0.0) / self.elapsed_s if self.elapsed_s > 0 else 0.0


def cpu_rows(used: CpuUse, cores: int, idle: CpuUse | None = None) -> list[CpuRow]:
    """One row per process, busiest first, then what the machine spent elsewhere (other
    users' processes, the kernel): its busy time minus the processes' sum. With ``idle`` (the
    platform measured at rest), each row also says what the process spends when nothing
    happens."""
    elapsed_s = used.elapsed_s
    capacity = elapsed_s * cores

    def row(name: str, seconds: float) -> CpuRow:
        pace = None if idle is None else idle.pace(name)
        return CpuRow(name, seconds, 100 * seconds / elapsed_s, 100 * seconds / capacity,
                      None if pace is None else 100 * pace,
                      None if pace is None else pace * elapsed_s)

    rows = [row(name, s) for name, s in sorted(used.per_process.items(), key=lambda kv: -kv[1])]
    rest = used.pace(ELSEWHERE) * elapsed_s
    if rest > 0:
        rows.append(row(ELSEWHERE, rest))
    return rows


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _met(ok: bool) -> str:
    return "met" if ok else "missed"


def stage_target(report: RunReport, stage: str) -> str:
    """The target column of a stage's row, with the verdict of this run."""
    if stage == "searchable":
        searchable, filtered = report.stage("searchable"), report.stage("filtered")
        share = searchable.rate / filtered.rate if filtered.rate else 0.0
        ok = (searchable.reached_s is not None and searchable.rate >= SEARCHABLE_MIN_RATE
              and share >= SEARCHABLE_MIN_SHARE)
        return (f"≥ {SEARCHABLE_MIN_RATE:,.0f} and ≥ {SEARCHABLE_MIN_SHARE:.0%} of filtered: "
                f"{share:.0%}, {_met(ok)}")
    if stage == "recommender":
        catch_up = report.catch_up_s
        caught = ("never caught up" if catch_up is None else
                  f"caught up (internal lag 0) at {report.caught_up_s:.1f} s, "
                  f"{catch_up:.1f} s after the last product")
        if report.total != CATCH_UP_TARGET_N:
            return f"{caught} (target set for {CATCH_UP_TARGET_N:,})"
        ok = catch_up is not None and catch_up <= CATCH_UP_MAX_S
        return f"{caught}; ≤ {CATCH_UP_MAX_S:.0f} s: {_met(ok)}"
    return "-"


def bottleneck(report: RunReport) -> str:
    """One sentence naming the busiest process and how busy the machine was."""
    lab = [row for row in report.cpu if row.process != ELSEWHERE]
    if not lab:
        return "No process CPU was measured."
    top = lab[0]
    # By the steady rate: N over the time taken always ranks the last stage slowest.
    slowest = min(report.stages, key=lambda s: s.rate if s.steady is None else s.steady)
    pace = slowest.rate if slowest.steady is None else slowest.steady
    return (f"Bottleneck: **{top.process}**, {top.core_pct:.0f} % of one core "
            f"({top.machine_pct:.0f} % of the machine), the busiest process; the machine was "
            f"{report.machine_busy_pct:.0f} % busy; the slowest stage was {slowest.stage} "
            f"({pace:,.0f} products/s steady).")


# The programs the lab runs but does not write (Kafka's brokers, Connect, MirrorMaker 2,
# Elasticsearch, the registry): the floor of what a product costs, whatever our code does.
_THIRD_PARTY = ("kafka-", "elasticsearch", "mirror-maker", "schema-registry")


def cost_per_product(report: RunReport) -> str:
    """The run's CPU per product, all of it (the bench's own samplers left out, the
    platform's fixed costs in) and the part spent in third-party programs, and how many cores
    the searchable-rate target would take at that cost. When the platform was measured at
    rest before the run, a second sentence takes its resting cost out: what a product adds."""
    rows = [row for row in report.cpu if not row.process.startswith("bench:")]
    if not rows or not report.total:
        return "CPU per product: not measured."
    spent = sum(row.cpu_s for row in rows)
    floor = sum(row.cpu_s for row in rows if row.process.startswith(_THIRD_PARTY))
    per, per_floor = spent / report.total, floor / report.total
    sentence = (f"CPU per product: {1000 * per:.1f} ms in all ({spent:.0f} CPU-s for "
                f"{report.total:,} products), {1000 * per_floor:.1f} ms "
                f"({per_floor / per:.0%}) of it in Kafka, Connect, MirrorMaker 2, "
                f"Elasticsearch and the registry; {SEARCHABLE_MIN_RATE:,.0f} products/s at "
                f"that cost would take {SEARCHABLE_MIN_RATE * per:.0f} cores.")
    if any(row.idle_cpu_s is None for row in rows):
        return sentence
    resting = sum(row.idle_cpu_s or 0.0 for row in rows)
    resting_cores = sum(row.idle_core_pct or 0.0 for row in rows) / 100
    added = max(spent - resting, 0.0) / report.total
    added_floor = max(floor - sum(row.idle_cpu_s or 0.0 for row in rows
                                  if row.process.startswith(_THIRD_PARTY)), 0.0) / report.total
    return sentence + (
        f" At rest, just before the run, the platform kept {resting_cores:.2f} cores busy "
        f"({resting:.0f} of those CPU-s at that pace); above that a product added "
        f"{1000 * added:.1f} ms ({1000 * added_floor:.1f} ms third-party), so "
        f"{SEARCHABLE_MIN_RATE:,.0f} products/s would take {resting_cores:.1f} + "
        f"{SEARCHABLE_MIN_RATE * added:.1f} = {resting_cores + SEARCHABLE_MIN_RATE * added:.0f}"
        " cores.")


def render_run(report: RunReport) -> list[str]:
    """The markdown of one run: stage table, CPU table, latency row, plot link."""
    n = report.total
    lines = [
        "", f"### {n:,} products at once (~{report.record_size} bytes of Avro each)",
        bottleneck(report), "",
        "| stage | reached at | products/s | steady products/s | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in report.stages:
        reached = (_seconds(s.reached_s) if s.reached_s is not None
                   else f"not reached ({s.held:,} of {n:,})")
        lines.append(f"| {s.stage} ({STAGE_PATHS[s.stage]}) | {reached} | {_rate(s.rate)} | "
                     f"{_rate(s.steady)} | {stage_target(report, s.stage)} |")
    lines.append(f"| reference: ProducerPerformance, {report.reference_count:,} records of "
                 f"{report.record_size} B, acks=all | - | {_rate(report.reference_rate)} | - | "
                 "- |")
    lines += _cpu_table(report.cpu)
    lines += ["", cost_per_product(report)]
    lat = report.latency
    p50, p99 = lat.quantile(0.5), lat.quantile(0.99)
    ok = p99 is not None and p99 <= LATENCY_P99_MAX_S and not lat.missed
    worst = max(lat.seconds) if lat.seconds else None
    lines += ["", "| measure | p50 | p99 | max | target | note |",
              "| --- | --- | --- | --- | --- | --- |",
              f"| search → recommendation while the load runs ({len(lat.seconds)} served, "
              f"{lat.missed} not within {lat.timeout_s:.0f} s) | {_seconds(p50)} | "
              f"{_seconds(p99)} | {_seconds(worst)} | p99 ≤ {LATENCY_P99_MAX_S:.0f} s: "
              f"{_met(ok)} | one search at a time, 0.5 s apart, a fresh client each |"]
    lines += [*(f"- {note}" for note in report.notes)]
    lines += ["", f"![stage curves, {n:,} products]({report.plot})"]
    return lines


def _cpu_table(rows: Sequence[CpuRow]) -> list[str]:
    """The CPU table; with a column of each process's pace at rest when it was measured."""
    at_rest = bool(rows) and all(row.idle_cpu_s is not None for row in rows)
    head = "| process | CPU s | % of one core | share of the machine |"
    lines = ["", head + (" at rest before the run, % of one core |" if at_rest else ""),
             "| --- | --- | --- | --- |" + (" --- |" if at_rest else "")]
    for row in rows:
        line = (f"| {row.process} | {row.cpu_s:.1f} | {row.core_pct:.0f} % | "
                f"{row.machine_pct:.1f} % |")
        lines.append(line + (f" {row.idle_core_pct or 0.0:.0f} % |" if at_rest else ""))
    return lines


def plot_stages(samples: Sequence[Sample], total: int, path: Path,
                last_published_s: float | None = None, caught_up_s: float | None = None
                ) -> Path:
    """Products each stage held against seconds since the first publish, one line per
    stage; saved as a PNG at ``path``."""
    fig, ax = plt.subplots(figsize=(9, 5))
    times = [s.t_s for s in samples]
    for stage in STAGES:
        ax.plot(times, [s.counts.get(stage, 0) for s in samples], label=stage)
    ax.axhline(total, color="grey", linestyle=":", linewidth=1)
    if last_published_s is not None:
        ax.axvline(last_published_s, color="grey", linestyle="--", linewidth=1,
                   label="last product published")
    if caught_up_s is not None:
        ax.axvline(caught_up_s, color="black", linestyle="--", linewidth=1,
                   label="recommender caught up")
    ax.set_xlabel("seconds since the first product was published")
    ax.set_ylabel("products of the run")
    ax.set_title(f"{total:,} products through the platform")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
