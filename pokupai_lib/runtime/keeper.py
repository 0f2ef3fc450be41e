"""Keeps one service process alive, like systemd's ``Restart=on-failure``.

The supervisor starts ``python -m pokupai_lib.runtime.keeper --state FILE ... -- COMMAND``
instead of the
command itself. The keeper runs the command as its child and, when the child exits with a
non-zero code or is killed by a signal (``kill -9`` included), starts it again after a backoff
that doubles from ``--backoff-s`` up to ``--max-backoff-s``. It gives up after
``--max-restarts`` restarts within ``--window-s`` seconds (a crash loop needs a person), and it
never restarts a child that exited 0 (asked to stop) or with :data:`ZOMBIE_EXIT_CODE` (another
instance with the same transactional id took over; restarting would only fence that one).

The keeper writes what it knows to ``--state`` (JSON: child pid, restarts, last exit reason)
for ``pokupai status``. SIGTERM and SIGINT are passed to the child, and the keeper exits with
the child's code. The child gets SIGKILL if the keeper itself dies, so no orphan keeps a port.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from pokupai_lib.runtime.exit_codes import ZOMBIE_EXIT_CODE
from pokupai_lib.runtime.keeper_state import KeeperState

__all__ = ["RestartBudget", "exit_reason", "main", "should_restart"]

_PR_SET_PDEATHSIG = 1


def exit_reason(returncode: int) -> str:
    """``exit code 1`` or ``killed by SIGKILL``, from a Popen return code."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    if returncode == ZOMBIE_EXIT_CODE:
        return f"exit code {returncode} (fenced by another instance)"
    return f"exit code {returncode}"


def should_restart(returncode: int, stopping: bool) -> bool:
    """On failure only: not when asked to stop, not after a clean exit, not for a zombie."""
    return not stopping and returncode not in (0, ZOMBIE_EXIT_CODE)


class RestartBudget:
    """At most ``limit`` restarts within ``window_s``; the delay doubles with each restart in
    a row and falls back to the first step after the child ran ``window_s`` without failing."""

    def __init__(self, limit: int, window_s: float, first_s: float, max_s: float) -> None:
        self.limit, self.window_s, self.first_s, self.max_s = limit, window_s, first_s, max_s
        self.recent: deque[float] = deque()

    def next_delay(self, now: float) -> float | None:
        """Seconds to wait before the next start, or None when the budget is spent."""
        while self.recent and now - self.recent[0] > self.window_s:
            self.recent.popleft()
        if len(self.recent) >= self.limit:
            return None
        delay = min(self.max_s, self.first_s * 2.0 ** len(self.recent))
        self.recent.append(now)
        return delay


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Keeper:
    """Runs the command, restarts it on failure within the budget, records its state."""

    def __init__(self, command: Sequence[str], state_file: Path, budget: RestartBudget) -> None:
        self.command = list(command)
        self.state_file = state_file
        self.budget = budget
        self.state = KeeperState()
        self.stopping = False
        self.child: subprocess.Popen[bytes] | None = None

    def _save(self) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self.state)))
        tmp.replace(self.state_file)

    def _forward(self, signum: int, _frame: object) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.child.send_signal(signum)

    def _start_child(self) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(self.command, preexec_fn=_die_with_parent)  # noqa: S603
        self.state.child_pid, self.state.state = child.pid, "running"
        self.state.started_at = _now()
        self._save()
        return child

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._forward)
        signal.signal(signal.SIGINT, self._forward)
        while True:
            self.child = self._start_child()
            code = self.child.wait()
            reason = exit_reason(code)
            self.state.last_exit, self.state.last_exit_at = reason, _now()
            self.state.history = [*self.state.history[-9:], f"{_now()} {reason}"]
            if not should_restart(code, self.stopping):
                self.state.state = "stopped" if self.stopping or code == 0 else "exited"
                self._save()
                return code
            delay = self.budget.next_delay(time.monotonic())
            if delay is None:
                self.state.state = "gave up"
                self._save()
                print(f"keeper: {reason}; {self.budget.limit} restarts within "
                      f"{self.budget.window_s:.0f} s, giving up", file=sys.stderr, flush=True)
                return code
            self.state.restarts += 1
            self.state.state, self.state.child_pid = f"restarting in {delay:.0f} s", None
            self._save()
            print(f"keeper: {reason}; restart {self.state.restarts} in {delay:.0f} s",
                  file=sys.stderr, flush=True)
            if self._sleep_unless_stopped(delay):
                return code

    def _sleep_unless_stopped(self, delay: float) -> bool:
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and not self.stopping:
            time.sleep(0.1)
        return self.stopping


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the keeper's options and keep the command after ``--`` running."""
    parser = argparse.ArgumentParser(prog="python -m pokupai_lib.runtime.keeper")
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--max-restarts", type=int, default=5)
    parser.add_argument("--window-s", type=float, default=300.0)
    parser.add_argument("--backoff-s", type=float, default=1.0)
    parser.add_argument("--max-backoff-s", type=float, default=30.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command after --")
    budget = RestartBudget(args.max_restarts, args.window_s, args.backoff_s, args.max_backoff_s)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return Keeper(command, args.state, budget).run()


if __name__ == "__main__":
    sys.exit(main())
