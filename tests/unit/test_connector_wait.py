"""Waiting for the sink: a FAILED task is restarted once, and a second failure is an error."""

from __future__ import annotations

from typing import Any

import pytest

from pokupai_lib.config import load_config
from pokupai_lib.errors import ConnectorError
from pokupai_lib.search import connect


def _status(*states: str) -> dict[str, Any]:
    return {"connector": {"state": "RUNNING"},
            "tasks": [{"id": n, "state": state, "trace": f"trace of {n}"}
                      for n, state in enumerate(states)]}


def _script(monkeypatch: pytest.MonkeyPatch, statuses: list[dict[str, Any]]) -> list[str]:
    restarts: list[str] = []
    monkeypatch.setattr(connect, "connector_status", lambda cfg, name: statuses.pop(0))
    monkeypatch.setattr(connect, "restart_failed_tasks", lambda cfg, name: restarts.append(name))
    return restarts


def test_a_task_failed_under_the_old_config_is_restarted_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    restarts = _script(monkeypatch, [_status("FAILED", "RUNNING"), _status("RUNNING", "RUNNING")])
    status = connect.wait_until_running(load_config(), "sink", timeout_s=5)
    assert restarts == ["sink"]
    assert [t["state"] for t in status["tasks"]] == ["RUNNING", "RUNNING"]


def test_a_task_that_fails_again_after_its_restart_is_an_error_with_its_trace(
        monkeypatch: pytest.MonkeyPatch) -> None:
    restarts = _script(monkeypatch, [_status("RUNNING", "FAILED"), _status("RUNNING", "FAILED")])
    with pytest.raises(ConnectorError, match="task 1 FAILED:\ntrace of 1"):
        connect.wait_until_running(load_config(), "sink", timeout_s=5)
    assert restarts == ["sink"]
