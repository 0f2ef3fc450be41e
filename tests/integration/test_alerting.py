"""Alerting against the real stack (issue 5): a broker down fires, its return resolves."""

from __future__ import annotations

import pandas as pd
import pytest
from lab_fixture import Lab

from pokupai_lib.lab import start_alerting
from pokupai_lib.monitoring.outage import broker_outage, outage_metrics
from pokupai_lib.monitoring.stack import wait_for_targets
from pokupai_lib.stage_checks import probe_every_stage


@pytest.fixture(scope="module")
def alerting_stack(lab: Lab) -> None:
    """The alert receiver, VictoriaMetrics, Alertmanager and vmalert running, with
    VictoriaMetrics scraping every target."""
    start_alerting(lab.cfg)
    wait_for_targets(lab.cfg)


@pytest.mark.slow
def test_a_broker_down_fires_within_60_s_and_resolves_within_60_s_losing_nothing(
        lab: Lab, alerting_stack: None) -> None:
    report = broker_outage(lab.cfg, broker=2, alert_timeout_s=60)
    assert report.fired_after_s <= 60 and report.resolved_after_s <= 60
    assert report.fired["labels"]["cluster"] == "primary"
    assert report.resolved["labels"]["broker_id"] == "2"
    assert report.resolved["status"] == "resolved" and report.resolved["endsAt"]
    # min ISR 2 of RF 3: acks=all writes go on with one broker down, and none is lost
    assert report.acked["during"] > 0 and report.acked["after"] > 0
    assert report.failed == 0 and report.lost == 0
    # VictoriaMetrics saw the broker gone (and partitions under-replicated), then back
    metrics = outage_metrics(lab.cfg, report)
    outage = metrics.loc[_time(report.stopped_at):_time(report.restarted_at)]
    back = metrics.loc[_time(report.restarted_at):]
    assert (outage["brokers up"] == 2).any() and (outage["under-replicated partitions"] > 0).any()
    assert (back["brokers up"] == 3).any()
    probe = probe_every_stage(lab.cfg)
    assert probe.ok, f"a stage stopped working after the outage: {probe.summary()}"


def _time(epoch_s: float) -> pd.Timestamp:
    return pd.Timestamp(epoch_s, unit="s", tz="UTC")

