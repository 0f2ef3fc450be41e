"""Every stream stage survives what the platform will meet: the whole primary cluster gone for
longer than a transaction timeout, poison records of every kind with a registry restart and a
broker outage, and a second filter instance (a zombie), all with the whole platform up."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from lab_fixture import Lab

from pokupai_lib.client_api.client import ClientApiClient
from pokupai_lib.ingest.checks import filter_stats, wait_for_filter
from pokupai_lib.ingest.fault_scenario import run_fault_scenario
from pokupai_lib.ingest.outage_checks import filter_across, primary_outage
from pokupai_lib.runtime.exit_codes import ZOMBIE_EXIT_CODE
from pokupai_lib.runtime.services import FILTER
from pokupai_lib.stage_checks import probe_every_stage, wait_searchable

pytestmark = pytest.mark.slow


def test_the_primary_cluster_gone_for_65_s_loses_and_repeats_nothing_and_kills_nothing(
        lab: Lab) -> None:
    report = filter_across(lab.cfg, primary_outage(65.0), "primary cluster down 65 s",
                           count=6_000, seed=12, first_id=int(time.time()) % 10**8 * 100)
    assert report.mid_stream, report.summary()
    assert report.missing == set() and report.repeated == {}, report.summary()
    assert report.tombstoned == report.banned
    # the producer fenced by the outage is replaced in the process; a consumer fenced by the
    # group after it makes the process exit, and its keeper starts a fresh one
    assert report.pid_after is not None, report.summary()
    assert report.pid_after == report.pid_before or report.restarts >= 1, report.summary()
    probe = probe_every_stage(lab.cfg)
    assert probe.ok, probe.summary()


def test_poison_of_every_kind_across_registry_and_broker_restarts_is_dead_lettered_alone(
        lab: Lab) -> None:
    report = run_fault_scenario(lab.cfg)
    assert report.missing_good == [] and report.repeated_good == {}, report.summary()
    assert report.poison_misjudged == {}, report.summary()
    assert report.good_dead_lettered == [], report.summary()
    v2 = [key for key, version in report.good.items() if version == 2]
    assert v2 and all("discount_percent" in report.clear_fields[key] for key in v2)
    indexed = wait_searchable(ClientApiClient(lab.cfg), v2[-1])
    assert indexed["discount_percent"] == 15, indexed
    assert report.pid_after == report.pid_before or report.restarts_after > \
        report.restarts_before
    probe = probe_every_stage(lab.cfg)
    assert probe.ok, probe.summary()


def test_a_second_filter_with_the_same_ids_steps_down_and_the_supervised_one_goes_on(
        lab: Lab) -> None:
    cfg, supervisor = lab.cfg, lab.supervisor
    wait_for_filter(cfg)
    # the supervised filter must be past its own zombie window, as a long-running one is
    joined_at = filter_stats(cfg)["joined_at"]
    assert joined_at is not None
    time.sleep(max(0.0, cfg.filter.zombie_window_s + 1 - (time.time() - joined_at)))
    restarts = supervisor.keeper_state(FILTER).restarts  # type: ignore[union-attr]
    env = {**os.environ, "LAB_FILTER__PORT": str(cfg.filter.port + 100)}
    log_path = cfg.paths.logs / "filter-second-instance.log"
    with log_path.open("ab") as log:
        second = subprocess.Popen(
            [sys.executable, "-m", "pokupai_lib.ingest.app"], env=env, cwd=cfg.paths.root,
            stdout=log, stderr=subprocess.STDOUT)
        try:
            assert second.wait(120) == ZOMBIE_EXIT_CODE
        finally:
            if second.poll() is None:
                second.kill()
                second.wait(30)
    assert "took over" in log_path.read_text(errors="replace").splitlines()[-1]
    state = supervisor.keeper_state(FILTER)
    assert state is not None and state.restarts == restarts + 1
    assert state.last_exit == "exit code 1"  # fenced while long-running: restarted, not a zombie
    wait_for_filter(cfg)
    probe = probe_every_stage(cfg)
    assert probe.ok, probe.summary()
