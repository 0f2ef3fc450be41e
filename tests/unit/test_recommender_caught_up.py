"""``wait_until_caught_up`` believes only a lag measured after the wait began."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import LabTimeoutError
from pokupai_lib.recommendations import checks
from pokupai_lib.recommendations.stats import RecommenderStats

ZERO = {"primary.shop-clear": 0, "repartition__recommender-v2--terms": 0}


def _serve(monkeypatch: pytest.MonkeyPatch, answers: list[dict[str, Any]]) -> list[int]:
    """/stats answers in turn (the last one again and again); returns the asks counted."""
    asked = [0]

    def stats(_cfg: LabConfig) -> dict[str, Any]:
        asked[0] += 1
        return answers[min(asked[0], len(answers)) - 1]
    monkeypatch.setattr(checks, "recommender_stats", stats)
    return asked


def test_a_zero_lag_measured_before_the_wait_is_not_believed(
        tmp_cfg: LabConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = {"lag": ZERO, "lag_measured_from": time.time() - 60}
    _serve(monkeypatch, [stale])
    with pytest.raises(LabTimeoutError):
        checks.wait_until_caught_up(tmp_cfg, timeout_s=0.6)


def test_a_fresh_zero_lag_after_fresh_work_ends_the_wait(
        tmp_cfg: LabConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    later = time.time() + 0.3
    asked = _serve(monkeypatch, [
        {"lag": ZERO, "lag_measured_from": time.time() - 60},
        {"lag": {**ZERO, "primary.shop-clear": 4}, "lag_measured_from": later},
        {"lag": ZERO, "lag_measured_from": later + 1}])
    assert checks.wait_until_caught_up(tmp_cfg, timeout_s=10) == ZERO
    assert asked[0] == 3


def test_the_stats_view_says_when_its_lag_was_measured_from() -> None:
    stats = RecommenderStats()
    assert stats.snapshot()["lag_measured_from"] is None
    stats.set_lag(ZERO, measured_from=1234.5)
    assert stats.snapshot()["lag"] == ZERO
    assert stats.snapshot()["lag_measured_from"] == 1234.5
