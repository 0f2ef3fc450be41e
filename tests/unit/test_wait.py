"""The one wait helper: returns what it waited for, or times out saying what, where and why."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from pokupai_lib.errors import LabError, LabTimeoutError
from pokupai_lib.runtime.wait import wait_until


def test_returns_the_first_truthy_state() -> None:
    counter = itertools.count()
    assert wait_until(lambda: next(counter) >= 3 and "ready", timeout_s=2, every_s=0,
                      what="three checks") == "ready"


def test_a_predicate_decides_and_the_state_itself_is_returned() -> None:
    states = iter([{"lag": 5}, {"lag": 2}, {"lag": 0}])
    assert wait_until(lambda: next(states), until=lambda s: s["lag"] == 0, timeout_s=2,
                      every_s=0, what="lag 0") == {"lag": 0}


def test_a_timeout_names_what_the_last_state_and_the_log(tmp_path: Path) -> None:
    counter = itertools.count()
    log = tmp_path / "filter.log"
    with pytest.raises(LabTimeoutError) as raised:
        wait_until(lambda: {"behind": next(counter) + 1000}, until=lambda s: False,
                   timeout_s=0.05, every_s=0.01, what="the filter to catch up", log=log)
    message = str(raised.value)
    assert isinstance(raised.value, LabError)
    assert "the filter to catch up" in message and "0.05 s" in message
    assert "{'behind': 10" in message and f"read {log}" in message
    last = int(message.split("{'behind': ")[1].split("}")[0])
    assert last > 1000  # the last state, not the first


def test_a_timeout_names_every_log(tmp_path: Path) -> None:
    logs = [tmp_path / "vmalert.log", tmp_path / "alertmanager.log"]
    with pytest.raises(LabTimeoutError, match=r"read .*vmalert\.log and .*alertmanager\.log"):
        wait_until(lambda: None, timeout_s=0.01, every_s=0.01, what="an alert", log=logs)


def test_a_long_state_is_shortened() -> None:
    with pytest.raises(LabTimeoutError) as raised:
        wait_until(lambda: "x" * 10_000, until=lambda s: False, timeout_s=0.01, every_s=0.01,
                   what="nothing")
    assert len(str(raised.value)) < 500


def test_listed_exceptions_mean_not_yet() -> None:
    answers = iter([ConnectionError("refused"), ConnectionError("refused"), "up"])

    def check() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert wait_until(check, timeout_s=2, every_s=0, what="a port",
                      ignore=(ConnectionError,)) == "up"


def test_an_ignored_exception_is_named_when_the_wait_times_out() -> None:
    def check() -> bool:
        raise ConnectionError("connection refused by 127.0.0.1:6069")

    with pytest.raises(LabTimeoutError) as raised:
        wait_until(check, timeout_s=0.03, every_s=0.01, what="the filter's stats",
                   ignore=(ConnectionError,))
    message = str(raised.value)
    assert "last state: none" in message
    assert "last error: ConnectionError: connection refused by 127.0.0.1:6069" in message


def test_a_predicate_chooses_which_exceptions_to_ignore() -> None:
    def check() -> bool:
        raise ValueError("fatal")

    with pytest.raises(ValueError, match="fatal"):
        wait_until(check, timeout_s=2, every_s=0, what="x",
                   ignore=lambda exc: "retriable" in str(exc))


def test_other_exceptions_propagate_at_once() -> None:
    calls = []

    def check() -> bool:
        calls.append(1)
        raise KeyError("a bug")

    with pytest.raises(KeyError, match="a bug"):
        wait_until(check, timeout_s=5, every_s=0.01, what="x", ignore=(ConnectionError,))
    assert len(calls) == 1


def test_the_check_runs_at_least_once_even_with_no_time() -> None:
    assert wait_until(lambda: 7, timeout_s=0, every_s=1, what="x") == 7


def test_none_is_never_the_answer_even_when_the_predicate_accepts_anything() -> None:
    states = iter([None, None, {}])
    assert wait_until(lambda: next(states), until=lambda _s: True, timeout_s=2, every_s=0,
                      what="x") == {}
