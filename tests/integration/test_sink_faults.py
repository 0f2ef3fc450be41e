"""The products sink heals itself: an Elasticsearch outage and a ``kill -9`` of the Connect
worker lose nothing and dead-letter nothing; the index ends equal to the mirrored source."""

from __future__ import annotations

import pytest
from lab_fixture import Lab

from pokupai_lib.search.connect import connector_status
from pokupai_lib.search.sink_faults import elastic_outage, kill_connect_mid_stream

pytestmark = pytest.mark.slow


def _all_running(lab: Lab) -> bool:
    status = connector_status(lab.cfg, lab.cfg.connect.sink_name)
    return {status["connector"]["state"], *(t["state"] for t in status["tasks"])} == {"RUNNING"}


def test_elasticsearch_down_for_a_minute_every_record_indexed_no_dead_letter(lab: Lab) -> None:
    outcome = elastic_outage(lab.cfg, down_s=60.0)
    assert outcome.index_equals_source, outcome.summary()
    assert outcome.new_dead_letters == 0, outcome.summary()
    assert _all_running(lab)


def test_connect_killed_mid_stream_the_index_ends_equal_to_the_source(lab: Lab) -> None:
    outcome = kill_connect_mid_stream(lab.cfg)
    assert outcome.indexed_during_fault > 0, "the worker must die mid-stream"
    assert outcome.indexed_during_fault < outcome.published, "the worker must die mid-stream"
    assert outcome.index_equals_source, outcome.summary()
    assert outcome.new_dead_letters == 0, outcome.summary()
    assert _all_running(lab)
