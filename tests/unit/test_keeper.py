"""The keeper restarts a failed process with backoff and a limit, like Restart=on-failure."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pokupai_lib.errors import ServiceNotReadyError
from pokupai_lib.runtime.exit_codes import ZOMBIE_EXIT_CODE
from pokupai_lib.runtime.keeper import RestartBudget, exit_reason, should_restart
from pokupai_lib.runtime.keeper_state import read_keeper_state
from pokupai_lib.runtime.supervisor import RestartPolicy, ServiceSpec, Supervisor
from pokupai_lib.runtime.wait import wait_until


def test_restarts_on_failure_only() -> None:
    assert should_restart(1, stopping=False)
    assert should_restart(-signal.SIGKILL, stopping=False)
    assert not should_restart(0, stopping=False)
    assert not should_restart(ZOMBIE_EXIT_CODE, stopping=False)
    assert not should_restart(-signal.SIGTERM, stopping=True)


def test_exit_reasons_name_the_signal_or_code() -> None:
    assert exit_reason(-signal.SIGKILL) == "killed by SIGKILL"
    assert exit_reason(2) == "exit code 2"
    assert "another instance" in exit_reason(ZOMBIE_EXIT_CODE)


def test_backoff_doubles_up_to_the_cap_and_the_budget_runs_out_within_the_window() -> None:
    budget = RestartBudget(limit=4, window_s=60, first_s=1, max_s=5)
    assert [budget.next_delay(t) for t in (0, 1, 2, 3)] == [1, 2, 4, 5]
    assert budget.next_delay(4) is None
    assert budget.next_delay(100) == 1  # the window has passed: the budget is whole again


def _run_keeper(tmp_path: Path, script: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pokupai_lib.runtime.keeper", "--state", str(tmp_path / "k.json"),
         "--backoff-s", "0.01", *extra, "--", sys.executable, "-c", script],
        capture_output=True, text=True, timeout=30, check=False)


def test_a_crashing_command_is_restarted_until_the_limit_then_left_down(tmp_path: Path) -> None:
    done = _run_keeper(tmp_path, "import sys; sys.exit(7)", "--max-restarts", "3")
    state = read_keeper_state(tmp_path / "k.json")
    assert done.returncode == 7
    assert state is not None and state.restarts == 3 and state.state == "gave up"
    assert state.last_exit == "exit code 7" and len(state.history) == 4
    assert "giving up" in done.stderr


def test_a_command_that_fails_once_runs_again_and_its_clean_exit_ends_the_keeper(
        tmp_path: Path) -> None:
    marker = tmp_path / "ran-once"
    script = (f"import pathlib, sys; m = pathlib.Path({str(marker)!r}); "
              "sys.exit(0) if m.exists() else (m.touch(), sys.exit(1))")
    done = _run_keeper(tmp_path, script)
    state = read_keeper_state(tmp_path / "k.json")
    assert done.returncode == 0
    assert state is not None and state.restarts == 1 and state.state == "stopped"


def test_a_zombie_exit_is_not_restarted(tmp_path: Path) -> None:
    done = _run_keeper(tmp_path, f"import sys; sys.exit({ZOMBIE_EXIT_CODE})")
    state = read_keeper_state(tmp_path / "k.json")
    assert done.returncode == ZOMBIE_EXIT_CODE
    assert state is not None and state.restarts == 0


def _wait(predicate: Callable[[], bool], what: str) -> None:
    wait_until(predicate, timeout_s=10, every_s=0.05, what=what)


def _kept_sleeper(tmp_path: Path) -> tuple[Supervisor, ServiceSpec, int]:
    """A restartable sleeper started under its keeper; the supervisor, its spec and the
    keeper's pid once the keeper's first worker runs."""
    supervisor = Supervisor(tmp_path / "run", tmp_path / "logs")
    spec = ServiceSpec(name="sleeper", command=[sys.executable, "-c", "import time; "
                                                "time.sleep(60)"],
                       restart=RestartPolicy(backoff_s=0.01))
    keeper_pid = supervisor.start(spec)
    _wait(lambda: supervisor.worker_pid("sleeper") not in (None, keeper_pid),
          "the keeper's first worker")
    return supervisor, spec, keeper_pid


def test_supervised_kill_9_of_the_worker_is_restarted_and_shown_in_status(
        tmp_path: Path) -> None:
    supervisor, spec, keeper_pid = _kept_sleeper(tmp_path)
    try:
        first = supervisor.worker_pid("sleeper")
        assert first is not None
        os.kill(first, signal.SIGKILL)
        _wait(lambda: supervisor.worker_pid("sleeper") not in (None, first),
              "a new worker after the kill")
        status = supervisor.status(spec)
        assert status.state == "running" and status.pid == supervisor.worker_pid("sleeper")
        assert (status.restarts, status.last_exit) == (1, "killed by SIGKILL")
        assert supervisor.running_pid("sleeper") == keeper_pid
    finally:
        assert supervisor.stop("sleeper", timeout_s=10)
    state = supervisor.keeper_state("sleeper")
    assert state is not None and state.state == "stopped" and state.restarts == 1


def test_kill_worker_returns_the_new_worker_once_it_is_ready(tmp_path: Path) -> None:
    supervisor, spec, keeper_pid = _kept_sleeper(tmp_path)
    try:
        first = supervisor.worker_pid("sleeper")
        new = supervisor.kill_worker(spec, restart_timeout_s=10)
        assert first is not None and new not in (first, keeper_pid)
        assert not _alive(first) and supervisor.worker_pid("sleeper") == new
        assert supervisor.status(spec).last_exit == "killed by SIGKILL"
    finally:
        assert supervisor.stop("sleeper", timeout_s=10)


def test_kill_worker_of_a_service_that_is_not_running_says_so(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "run", tmp_path / "logs")
    spec = ServiceSpec(name="absent", command=[sys.executable, "-c", "pass"],
                       restart=RestartPolicy())
    with pytest.raises(ServiceNotReadyError, match="absent is not running"):
        supervisor.kill_worker(spec)


def test_killing_the_keeper_takes_its_worker_along(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "run", tmp_path / "logs")
    spec = ServiceSpec(name="orphan", command=[sys.executable, "-c", "import time; "
                                               "time.sleep(60)"], restart=RestartPolicy())
    keeper_pid = supervisor.start(spec)
    _wait(lambda: supervisor.worker_pid("orphan") not in (None, keeper_pid), "the worker")
    worker = supervisor.worker_pid("orphan")
    assert worker is not None
    os.kill(keeper_pid, signal.SIGKILL)
    os.waitpid(keeper_pid, 0)
    _wait(lambda: not _alive(worker), "the worker to end with its keeper")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_the_filters_watchdog_ends_a_stalled_process_with_its_stack_in_the_log() -> None:
    script = (
        "import threading, time, types\n"
        "from pokupai_lib.ingest.app import Watchdog\n"
        "loop = types.SimpleNamespace(stop=threading.Event(), progress_at=time.monotonic())\n"
        "Watchdog(loop, limit_s=0.3, every_s=0.05).start()\n"  # type: ignore[arg-type]
        "time.sleep(30)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 1
    assert "made no progress" in done.stderr
    assert 'File "<string>", line 5' in done.stderr  # the stalled main thread's stack
