"""wait_until_settled waits for the stages in the order the work flows, each with the same
timeout, and says how long each took."""

from __future__ import annotations

import pytest

from pokupai_lib import stage_checks
from pokupai_lib.config import LabConfig


def test_waits_for_each_stage_in_flow_order_with_the_given_timeout(
        tmp_cfg: LabConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, float | None]] = []

    def waiter(stage: str):  # type: ignore[no-untyped-def]
        return lambda cfg, timeout_s=None: calls.append((stage, timeout_s))

    for name in ("wait_for_filter", "wait_for_mirror", "wait_for_index", "wait_until_caught_up"):
        monkeypatch.setattr(stage_checks, name, waiter(name))
    took = stage_checks.wait_until_settled(tmp_cfg, 1800.0)
    assert calls == [("wait_for_filter", 1800.0), ("wait_for_mirror", 1800.0),
                     ("wait_for_index", 1800.0), ("wait_until_caught_up", 1800.0)]
    assert list(took) == ["filter", "mirror", "index", "recommender"]
