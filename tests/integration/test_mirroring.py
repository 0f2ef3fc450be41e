"""MirrorMaker 2 primary → secondary against the real clusters (issues 4 and 11)."""

from __future__ import annotations

import random

import pytest
from lab_fixture import Lab

from pokupai_lib.ingest.checks import prepare_shop_files, wait_for_filter
from pokupai_lib.ingest.publisher import publish_files
from pokupai_lib.kafka.checks import describe_topics
from pokupai_lib.mirroring.checks import restart_during_publish, wait_for_mirror
from pokupai_lib.mirroring.mirror_maker import MIRROR_SERVICE, start_mirror
from pokupai_lib.verify.checks import verify


def _first_id() -> int:
    return random.randint(100_000_000, 900_000_000)  # noqa: S311 - test data


def test_mirrored_and_internal_topics_have_replication_factor_3(lab: Lab) -> None:
    cfg = lab.cfg
    secondary = [cfg.mirror.remote_topic(t) for t in cfg.mirrored_topics] + [
        "primary.checkpoints.internal", "heartbeats", "mm2-configs.primary.internal",
        "mm2-offsets.primary.internal", "mm2-status.primary.internal"]
    on_secondary = describe_topics(lab.admin_for("secondary"), secondary)
    on_primary = describe_topics(lab.admin, ["mm2-offset-syncs.secondary.internal"])
    assert set(on_secondary["replication_factor"]) == {3}
    assert set(on_primary["replication_factor"]) == {3}


def test_mirrored_records_equal_the_source(lab: Lab) -> None:
    cfg = lab.cfg
    _catalog, paths = prepare_shop_files(cfg, 400, seed=4101, first_id=_first_id(),
                                         with_bad_lines=False)
    assert publish_files(cfg, paths, progress=False).sent == 400
    wait_for_filter(cfg)
    report = wait_for_mirror(cfg)
    shop_clear = report.set_index("topic").loc[cfg.topics.shop_clear]
    assert shop_clear["source_records"] >= 400
    assert shop_clear["target_records"] == shop_clear["source_records"]
    assert (report["missing"] == 0).all()
    assert (report["repeated"] == 0).all()


@pytest.mark.slow
def test_replication_resumes_without_loss_after_mirror_maker_restart(lab: Lab) -> None:
    cfg = lab.cfg
    _catalog, paths = prepare_shop_files(cfg, 1200, seed=4102, first_id=_first_id(),
                                         with_bad_lines=False)
    sampler = restart_during_publish(cfg, paths, down_s=4.0, interval_s=1.0)
    lag = sampler.frame()
    report = wait_for_mirror(cfg)
    assert [label for _s, label in sampler.marks] == ["MirrorMaker 2 stopped",
                                                     "MirrorMaker 2 started"]
    assert lag["behind"].max() > 0, "records published while MM2 was down must lag"
    assert lag["behind"].iloc[-1] == 0
    assert report["in_sync"].all()
    assert (report["missing"] == 0).all()
    assert (report["repeated"] == 0).all()


@pytest.mark.slow
def test_mirror_maker_killed_with_sigkill_mid_stream_loses_nothing_and_repeats_nothing(
        lab: Lab) -> None:
    # Exactly-once source support: the copies and the source offsets of a transaction commit
    # together, so the transaction the kill left open is aborted and copied again once, and a
    # read_committed reader sees each record once.
    cfg = lab.cfg
    _catalog, paths = prepare_shop_files(cfg, 1200, seed=4103, first_id=_first_id(),
                                         with_bad_lines=False)
    try:
        sampler = restart_during_publish(cfg, paths, interval_s=1.0, fault="sigkill")
    finally:
        start_mirror(cfg, lab.supervisor)  # a no-op unless its keeper gave up
    lag, report = sampler.frame(), wait_for_mirror(cfg)
    assert [label for _s, label in sampler.marks] == ["MirrorMaker 2 killed (kill -9)",
                                                     "MirrorMaker 2 restarted by its keeper"]
    (killed_s, _), (restarted_s, _) = sampler.marks
    caught_up_s = lag[(lag["seconds"] > restarted_s) & (lag["behind"] == 0)]["seconds"].min()
    print(f"killed at {killed_s:.1f} s, restarted at {restarted_s:.1f} s, caught up at "
          f"{caught_up_s:.1f} s; at most {lag['behind'].max()} behind\n{report.to_string()}")
    assert lag["behind"].max() > 0, "records published while MM2 was down must lag"
    assert lag["behind"].iloc[-1] == 0
    assert (report["missing"] == 0).all(), report.to_string()
    assert (report["repeated"] == 0).all(), report.to_string()
    assert report["in_sync"].all(), report.to_string()
    # downstream: the mirror and the index hold shop-clear's latest version of every key
    stages = verify(cfg, wait_s=cfg.timeouts.catch_up_s)
    for stage in (cfg.mirror.remote_topic(cfg.topics.shop_clear), f"index {cfg.elastic.index}"):
        assert stages.stage(stage).ok, stages.summary()
    assert lab.supervisor.worker_pid(MIRROR_SERVICE) is not None
