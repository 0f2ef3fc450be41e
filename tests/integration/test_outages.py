"""Every stream stage survives what the platform will meet: the whole primary cluster gone for
longer than a transaction timeout, poison records of every kind with a registry restart and a
broker outage, and a second filter instance (a zombie), all with the whole platform up."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from pokupai_lib.client_api_client import ClientApiClient
from pokupai_lib.config import LabConfig
from pokupai_lib.exit_codes import ZOMBIE_EXIT_CODE
from pokupai_lib.fault_scenario import run_fault_scenario
from pokupai_lib.filter_checks import filter_across, primary_outage
from pokupai_lib.lab import lab_supervisor
from pokupai_lib.pipeline import wait_for_filter
from pokupai_lib.services import FILTER, filter_spec
from pokupai_lib.stage_checks import probe_every_stage, wait_searchable

pytestmark = pytest.mark.slow


def test_the_primary_cluster_gone_for_65_s_loses_and_repeats_nothing_and_kills_nothing(
        platform: LabConfig) -> None:
    report = filter_across(platform, primary_outage(65.0), "primary cluster down 65 s",
                           count=6_000, seed=12, first_id=int(time.time()) % 10**8 * 100)
    assert report.mid_stream, report.summary()
    assert report.missing == set() and report.repeated == {}, report.summary()
    assert report.tombstoned == report.banned
    assert (report.pid_after, report.restarts) == (report.pid_before, 0), report.summary()
    probe = probe_every_stage(platform)
    assert probe.ok, probe.summary()


def test_poison_of_every_kind_across_registry_and_broker_restarts_is_dead_lettered_alone(
        platform: LabConfig) -> None:
    report = run_fault_scenario(platform)
    assert report.missing_good == [] and report.repeated_good == {}, report.summary()
    assert report.poison_misjudged == {}, report.summary()
    assert report.good_dead_lettered == [], report.summary()
    v2 = [key for key, version in report.good.items() if version == 2]
    assert v2 and all("discount_percent" in report.clear_fields[key] for key in v2)
    indexed = wait_searchable(ClientApiClient(platform), v2[-1])
    assert indexed["discount_percent"] == 15, indexed
    assert report.recoveries.get("registry", 0) > 0, "the registry fault was not met"
    assert report.pid_after == report.pid_before or report.restarts_after > \
        report.restarts_before
    probe = probe_every_stage(platform)
    assert probe.ok, probe.summary()


def test_a_second_filter_with_the_same_ids_fences_the_first_which_exits_and_stays_down(
        platform: LabConfig) -> None:
    supervisor = lab_supervisor(platform)
    wait_for_filter(platform)
    env = {**os.environ, "LAB_FILTER__PORT": str(platform.filter.port + 100)}
    log = (platform.paths.logs / "filter-second-instance.log").open("ab")
    zombie_maker = subprocess.Popen(
        [sys.executable, "-m", "pokupai_lib.filter_app"], env=env, cwd=platform.paths.root,
        stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while supervisor.running_pid(FILTER) is not None:
            assert time.monotonic() < deadline, "the fenced filter did not exit"
            time.sleep(0.5)
        state = supervisor.keeper_state(FILTER)
        assert state is not None and state.last_exit is not None
        assert state.last_exit.startswith(f"exit code {ZOMBIE_EXIT_CODE}")
        assert "took over" in supervisor.log_tail(FILTER, 20)
        assert zombie_maker.poll() is None, "the second instance should go on"
    finally:
        zombie_maker.terminate()
        zombie_maker.wait(30)
        log.close()
        supervisor.start(filter_spec(platform))
    wait_for_filter(platform)
