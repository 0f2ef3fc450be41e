"""The end-to-end benchmark's pure part (bench/end_to_end_report.py): rates from sampled
stage curves, the CPU table, the markdown section and the plot."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load_report() -> ModuleType:
    """The bench module, loaded from its file: bench/ is a folder of scripts, not a package."""
    path = Path(__file__).resolve().parents[2] / "bench" / "end_to_end_report.py"
    spec = importlib.util.spec_from_file_location("end_to_end_report", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


report = _load_report()


def _samples(curves: dict[str, list[int]], lags: list[int | None] | None = None,
             every_s: float = 1.0) -> list[object]:
    length = len(next(iter(curves.values())))
    lags = lags or [None] * length
    return [report.Sample(i * every_s, {stage: curve[i] for stage, curve in curves.items()},
                          lags[i]) for i in range(length)]


def _run_report(**changes: object) -> object:
    stages = [report.StageResult("published", 20_000, 1.0, 20_000.0, 20_000.0),
              report.StageResult("filtered", 20_000, 2.0, 10_000.0, 12_000.0),
              report.StageResult("mirrored", 20_000, 4.0, 5_000.0, 6_000.0),
              report.StageResult("searchable", 20_000, 5.0, 4_000.0, 4_500.0),
              report.StageResult("recommender", 20_000, 10.0, 2_000.0, 2_500.0)]
    fields: dict[str, object] = {
        "total": 20_000, "record_size": 800, "stages": stages, "last_published_s": 1.0,
        "caught_up_s": 12.0,
        "cpu": report.cpu_rows(report.CpuUse({"kafka-1": 6.0, "recommender": 9.0}, 18.0, 10.0), 2),
        "machine_busy_pct": 90.0, "latency": report.Latency([0.4, 0.5, 2.0], 0, 30.0),
        "reference_rate": 30_000.0, "reference_count": 20_000,
        "plot": "plots/end_to_end_20000.png"}
    fields.update(changes)
    return report.RunReport(**fields)


def test_crossing_time_interpolates_between_the_samples_around_the_level() -> None:
    assert report.crossing_time([0, 1, 2], [0, 100, 300], 200) == pytest.approx(1.5)
    assert report.crossing_time([0, 1, 2], [0, 100, 300], 300) == pytest.approx(2.0)


def test_crossing_time_is_none_when_never_reached_and_the_start_when_already_there() -> None:
    assert report.crossing_time([0, 1], [0, 99], 100) is None
    assert report.crossing_time([3, 4], [100, 100], 100) == 3


def test_steady_rate_is_the_pace_between_a_quarter_and_three_quarters() -> None:
    # 1 s start-up, 1,000 products/s, then a slow tail that the N/time rate would include
    times = [0, 1, 2, 3, 4, 5, 10]
    counts = [0, 0, 1_000, 2_000, 3_000, 3_900, 4_000]
    assert report.steady_rate(times, counts, 4_000) == pytest.approx(1_000)


def test_steady_rate_is_none_below_three_quarters() -> None:
    assert report.steady_rate([0, 1, 2], [0, 500, 2_000], 4_000) is None


def test_stage_result_rate_is_n_over_the_time_it_took() -> None:
    samples = _samples({"filtered": [0, 500, 1_000, 1_000]})
    result = report.stage_result(samples, "filtered", 1_000)
    assert (result.held, result.reached_s, result.rate) == (1_000, 2.0, 500.0)


def test_stage_result_that_never_got_there_says_what_it_held_and_its_pace() -> None:
    samples = _samples({"searchable": [0, 100, 300, 600]})
    result = report.stage_result(samples, "searchable", 1_000)
    assert (result.held, result.reached_s, result.rate) == (600, None, 200.0)


def test_caught_up_needs_every_product_committed_and_internal_lag_zero() -> None:
    samples = _samples({"recommender": [0, 500, 1_000, 1_000, 1_000]},
                       lags=[0, 7, 3, None, 0])
    assert report.caught_up_at(samples, 1_000) == 4.0


def test_records_below_counts_offsets_under_each_partitions_committed_offset() -> None:
    offsets = {0: [10, 11, 15], 1: [3, 4], 2: [7]}
    assert report.records_below(offsets, {0: 12, 1: 5}) == 4  # partition 2 not committed
    assert report.records_below(offsets, {0: 16, 1: 5, 2: 8}) == 6


def test_cpu_rows_busiest_first_with_what_the_machine_spent_elsewhere() -> None:
    rows = report.cpu_rows(report.CpuUse({"filter": 2.0, "kafka-1": 5.0}, busy_s=10.0,
                                         elapsed_s=10.0), cores=2)
    assert [r.process for r in rows] == ["kafka-1", "filter",
                                         "everything else (other processes, kernel)"]
    assert (rows[0].core_pct, rows[0].machine_pct) == (50.0, 25.0)
    assert rows[2].cpu_s == pytest.approx(3.0)


def test_latency_quantiles_interpolate_like_pandas() -> None:
    latency = report.Latency([0.3, 0.1, 0.2, 5.0], 1, 30.0)
    assert latency.quantile(0.5) == pytest.approx(0.25)
    assert latency.quantile(0.99) == pytest.approx(0.3 + 0.97 * 4.7)
    assert report.Latency([], 0, 30.0).quantile(0.5) is None


def test_section_names_the_bottleneck_and_judges_the_targets() -> None:
    text = "\n".join(report.render_run(_run_report()))
    assert "Bottleneck: **recommender**, 90 % of one core (45 % of the machine)" in text
    assert "≥ 3,000 and ≥ 50% of filtered: 40%, missed" in text  # 4,000 of 10,000
    assert "11.0 s after the last product; ≤ 60 s: met" in text
    assert "| ProducerPerformance" not in text and "ProducerPerformance, 20,000 records" in text
    assert "| kafka-1 | 6.0 | 60 % | 30.0 % |" in text
    assert "p99 ≤ 3 s: met" in text
    assert "![stage curves, 20,000 products](plots/end_to_end_20000.png)" in text


def test_section_says_what_a_stage_reached_when_it_missed() -> None:
    stages = [report.StageResult(name, 20_000, 1.0, 20_000.0, None)
              for name in ("published", "filtered", "mirrored")]
    stages += [report.StageResult("searchable", 12_000, None, 1_000.0, None),
               report.StageResult("recommender", 9_000, None, 750.0, None)]
    text = "\n".join(report.render_run(_run_report(stages=stages, caught_up_s=None)))
    assert "not reached (12,000 of 20,000)" in text
    assert "5%, missed" in text
    assert "never caught up; ≤ 60 s: missed" in text


def test_plot_has_one_line_per_stage(tmp_path: Path) -> None:
    samples = _samples({stage: [0, 50, 100] for stage in report.STAGES}, lags=[None, 3, 0])
    path = report.plot_stages(samples, 100, tmp_path / "plots" / "e2e.png", 0.5, 2.0)
    assert path.read_bytes().startswith(b"\x89PNG")


def test_searchable_target_is_met_at_half_the_filters_rate_and_3000_per_second() -> None:
    stages = [report.StageResult("filtered", 20_000, 2.0, 10_000.0, None),
              report.StageResult("searchable", 20_000, 4.0, 5_000.0, None)]
    assert report.stage_target(_run_report(stages=stages), "searchable").endswith("50%, met")


def test_cost_per_product_leaves_out_the_bench_and_names_the_third_party_floor() -> None:
    cpu = report.cpu_rows(report.CpuUse({"kafka-1": 6.0, "elasticsearch": 2.0, "recommender": 9.0,
                                         "bench: stage samplers, latency probe": 5.0}, 25.0,
                                        10.0), 2)
    sentence = report.cost_per_product(_run_report(cpu=cpu))
    # 20 CPU-s (6 + 2 + 9 + 3 elsewhere) for 20,000 products: 1 ms; 8 CPU-s third-party.
    assert sentence == ("CPU per product: 1.0 ms in all (20 CPU-s for 20,000 products), "
                        "0.4 ms (40%) of it in Kafka, Connect, MirrorMaker 2, Elasticsearch "
                        "and the registry; 3,000 products/s at that cost would take 3 cores.")
    assert report.cost_per_product(_run_report(cpu=[])) == "CPU per product: not measured."


def test_cpu_rows_say_each_process_pace_at_rest_over_the_runs_time() -> None:
    rest = report.CpuUse({"kafka-1": 2.0, "filter": 0.5}, busy_s=3.5, elapsed_s=10.0)
    rows = report.cpu_rows(report.CpuUse({"filter": 2.0, "kafka-1": 5.0}, busy_s=10.0,
                                         elapsed_s=20.0), cores=2, idle=rest)
    by_name = {row.process: row for row in rows}
    assert (by_name["kafka-1"].idle_core_pct, by_name["kafka-1"].idle_cpu_s) == (20.0, 4.0)
    assert by_name["filter"].idle_cpu_s == pytest.approx(1.0)
    # the machine minus the processes: 1 CPU-s in 10 s at rest, 2 in the run's 20 s
    assert by_name[report.ELSEWHERE].idle_cpu_s == pytest.approx(2.0)
    assert "at rest before the run, % of one core |" in "\n".join(report._cpu_table(rows))


def test_cost_per_product_takes_the_resting_cost_out_when_it_was_measured() -> None:
    rest = report.CpuUse({"kafka-1": 2.0, "recommender": 1.0}, busy_s=3.0, elapsed_s=10.0)
    cpu = report.cpu_rows(report.CpuUse({"kafka-1": 6.0, "recommender": 9.0}, 15.0, 10.0), 2,
                          rest)
    sentence = report.cost_per_product(_run_report(cpu=cpu))
    # 15 CPU-s for 20,000: 0.75 ms; at rest 0.3 cores, 3 CPU-s of the 10 s; 12 CPU-s added
    # (4 of them Kafka's): 0.6 ms a product; 3,000/s → 0.3 + 1.8 cores
    assert sentence.startswith("CPU per product: 0.8 ms in all (15 CPU-s")
    assert sentence.endswith(
        "At rest, just before the run, the platform kept 0.30 cores busy (3 of those CPU-s at "
        "that pace); above that a product added 0.6 ms (0.2 ms third-party), so 3,000 "
        "products/s would take 0.3 + 1.8 = 2 cores.")
