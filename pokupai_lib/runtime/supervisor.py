"""Start, stop, status and restart of the lab's services as detached processes.

Each service runs in its own session with a pid file (``.lab/run/<name>.pid``), a log file
(``.lab/logs/<name>.log``) and a readiness probe with a timeout. Starting a running service is a
no-op; a pid file whose process is gone (or whose pid now belongs to another process) is stale
and is removed; stop sends SIGTERM, then SIGKILL after the stop timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import psutil

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import LabTimeoutError, PortBusyError, ServiceNotReadyError
from pokupai_lib.runtime.keeper_state import KeeperState, read_keeper_state
from pokupai_lib.runtime.wait import wait_until

__all__ = [
    "ProbeResult",
    "RestartPolicy",
    "ServiceSpec",
    "ServiceStatus",
    "Supervisor",
    "http_probe",
    "lab_supervisor",
    "port_holder",
    "tcp_probe",
]

ServiceState = Literal["running", "stopped", "stale"]


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of one readiness check, with a short reason."""

    ok: bool
    detail: str


Probe = Callable[[], ProbeResult]


@dataclass(frozen=True)
class RestartPolicy:
    """Restart on failure (non-zero exit or a signal), like systemd's ``Restart=on-failure``:
    the delay doubles from ``backoff_s`` to ``max_backoff_s``; at most ``max_restarts``
    within ``window_s`` (then the service stays down and ``status`` says so)."""

    max_restarts: int = 5
    window_s: float = 300.0
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0


ON_FAILURE = RestartPolicy()


def http_probe(url: str) -> ProbeResult:
    """Pass when ``GET url`` answers 200 (for services on loopback)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback URL
            return ProbeResult(response.status == 200, f"GET {url} → {response.status}")
    except urllib.error.HTTPError as exc:
        return ProbeResult(False, f"GET {url} → {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        return ProbeResult(False, f"GET {url}: {exc}")


def tcp_probe(port: int, host: str = "127.0.0.1", timeout_s: float = 1.0) -> Probe:
    """A probe that passes when something accepts TCP connections on ``host:port``."""

    def probe() -> ProbeResult:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                return ProbeResult(True, f"tcp {host}:{port} accepts connections")
        except OSError as exc:
            return ProbeResult(False, f"tcp {host}:{port}: {exc.strerror or exc}")

    return probe


@dataclass(frozen=True)
class ServiceSpec:
    """How to run one service and how to tell it is ready."""

    name: str
    command: Sequence[str]
    ports: tuple[int, ...] = ()
    probe: Probe | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    ready_timeout_s: float = 60.0
    stop_timeout_s: float = 30.0
    # Run as this user (and its group only) instead of the caller, e.g. for programs that
    # refuse to run as root.
    user: str | None = None
    # None: the process runs as launched and stays down when it exits.
    restart: RestartPolicy | None = None


@dataclass(frozen=True)
class ServiceStatus:
    """What the supervisor knows of a service right now."""

    name: str
    state: ServiceState
    pid: int | None
    ports: tuple[int, ...]
    health: str
    restarts: int = 0
    last_exit: str | None = None


def port_holder(port: int) -> str | None:
    """Who listens on ``port`` (pid and command), or None when the port is free."""
    for conn in psutil.net_connections(kind="inet"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
            if conn.pid is None:
                return "an unknown process"
            try:
                proc = psutil.Process(conn.pid)
                return f"pid {conn.pid} ({' '.join(proc.cmdline())[:120]})"
            except psutil.Error:
                return f"pid {conn.pid}"
    return None


class Supervisor:
    """Owns the pid files and logs of every managed process under one state directory."""

    def __init__(self, pid_dir: Path, log_dir: Path) -> None:
        self.pid_dir = pid_dir
        self.log_dir = log_dir

    def pid_file(self, name: str) -> Path:
        return self.pid_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def keeper_file(self, name: str) -> Path:
        return self.pid_dir / f"{name}.keeper.json"

    def keeper_state(self, name: str) -> KeeperState | None:
        """What the keeper of a restartable service last recorded (None for others)."""
        return read_keeper_state(self.keeper_file(name))

    def worker_pid(self, name: str) -> int | None:
        """The pid of the process doing the work: the keeper's child for a restartable
        service (None while it waits to restart it), the service's own pid otherwise."""
        pid = self.running_pid(name)
        kept = self.keeper_state(name)
        if pid is None or kept is None:
            return pid
        return kept.child_pid if kept.child_pid is not None and psutil.pid_exists(
            kept.child_pid) else None

    def running_pid(self, name: str) -> int | None:
        """The pid of the live process behind ``name``'s pid file, removing a stale file."""
        record = self._read_pid_file(name)
        if record is None:
            return None
        pid, created = int(str(record["pid"])), float(str(record["create_time"]))
        if _alive(pid, created):
            return pid
        self.pid_file(name).unlink(missing_ok=True)
        return None

    def status(self, spec: ServiceSpec) -> ServiceStatus:
        """Running, stopped or stale, with the probe's verdict for a running service."""
        had_file = self.pid_file(spec.name).exists()
        pid = self.running_pid(spec.name)
        kept = self.keeper_state(spec.name) if spec.restart else None
        restarts, last_exit = (kept.restarts, kept.last_exit) if kept else (0, None)
        if pid is None:
            state: ServiceState = "stale" if had_file else "stopped"
            return ServiceStatus(spec.name, state, None, spec.ports, "-", restarts, last_exit)
        if kept is not None and kept.child_pid is None:
            health = f"not ready: {kept.state}"
        elif spec.probe is None:
            health = "no probe"
        else:
            result = spec.probe()
            health = result.detail if result.ok else f"not ready: {result.detail}"
        return ServiceStatus(spec.name, "running", self.worker_pid(spec.name) or pid,
                             spec.ports, health, restarts, last_exit)

    def launch(self, spec: ServiceSpec) -> int:
        """Start ``spec`` detached unless it already runs; return its pid. Does not wait."""
        pid = self.running_pid(spec.name)
        if pid is not None:
            return pid
        for port in spec.ports:
            holder = port_holder(port)
            if holder is not None:
                raise PortBusyError(
                    f"{spec.name} needs port {port}, but it is held by {holder}; stop that "
                    f"process or move {spec.name} to another port (LAB_* settings)")
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file(spec.name).open("ab") as log:
            log.write(f"\n=== {_now()} starting {spec.name}: {' '.join(spec.command)}\n".encode())
            log.flush()
            identity: dict[str, Any] = (
                {"user": spec.user, "group": spec.user, "extra_groups": []} if spec.user else {})
            proc = subprocess.Popen(  # noqa: S603 - commands are built by the library
                self._command(spec), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=spec.cwd, env={**os.environ, **spec.env},
                start_new_session=True, **identity)
        record = {"pid": proc.pid, "create_time": psutil.Process(proc.pid).create_time(),
                  "command": list(spec.command), "started_at": _now()}
        self.pid_file(spec.name).write_text(json.dumps(record))
        return proc.pid

    def _command(self, spec: ServiceSpec) -> list[str]:
        """The command line, under a keeper when the service restarts on failure."""
        if spec.restart is None:
            return list(spec.command)
        self.keeper_file(spec.name).unlink(missing_ok=True)
        policy = spec.restart
        return [sys.executable, "-m", "pokupai_lib.runtime.keeper",
                "--state", str(self.keeper_file(spec.name)),
                "--max-restarts", str(policy.max_restarts), "--window-s", str(policy.window_s),
                "--backoff-s", str(policy.backoff_s),
                "--max-backoff-s", str(policy.max_backoff_s), "--", *spec.command]

    def wait_ready(self, spec: ServiceSpec) -> None:
        """Block until the probe passes; raise ServiceNotReadyError with the log's tail."""

        def probe() -> ProbeResult:
            if self.running_pid(spec.name) is None:
                raise ServiceNotReadyError(
                    f"{spec.name} exited during start-up; last lines of "
                    f"{self.log_file(spec.name)}:\n{self.log_tail(spec.name)}")
            return spec.probe() if spec.probe is not None else ProbeResult(True, "no probe")

        try:
            wait_until(probe, until=lambda result: result.ok, timeout_s=spec.ready_timeout_s,
                       every_s=0.5, what=f"{spec.name} to pass its readiness probe")
        except LabTimeoutError as exc:
            raise ServiceNotReadyError(
                f"{spec.name} not ready: {exc}; last lines of {self.log_file(spec.name)}:\n"
                f"{self.log_tail(spec.name)}") from exc

    def kill_worker(self, spec: ServiceSpec, restart_timeout_s: float = 60.0) -> int:
        """``kill -9`` the worker of a restartable service (no goodbye: open transactions,
        unflushed buffers), wait until its keeper has started a new one and it is ready;
        return the new worker's pid.

        Raises:
            ServiceNotReadyError: the service has no running worker, or the new one does not
                become ready.
            LabTimeoutError: the keeper starts no new worker within ``restart_timeout_s``.
        """
        pid = self.kill_worker_now(spec.name)
        new: int = wait_until(lambda: self.worker_pid(spec.name),
                              until=lambda worker: worker not in (None, pid),
                              timeout_s=restart_timeout_s, every_s=0.2,
                              what=f"{spec.name}'s keeper to start it again (killed pid {pid})",
                              log=self.log_file(spec.name))
        self.wait_ready(spec)
        return new

    def kill_worker_now(self, name: str) -> int:
        """``kill -9`` the worker of service ``name`` and return its pid, without waiting for
        its keeper (a fault at a random moment, the next one maybe while it restarts).

        Raises:
            ServiceNotReadyError: the service has no running worker.
        """
        pid = self.worker_pid(name)
        if pid is None:
            raise ServiceNotReadyError(f"{name} is not running (see {self.log_file(name)}); "
                                       f"start it with pokupai up")
        os.kill(pid, signal.SIGKILL)
        return pid

    def start(self, spec: ServiceSpec) -> int:
        """Launch ``spec`` (a no-op when it runs) and wait until it is ready."""
        pid = self.launch(spec)
        self.wait_ready(spec)
        return pid

    def stop(self, name: str, timeout_s: float = 30.0) -> bool:
        """SIGTERM the service, SIGKILL it after ``timeout_s``; False if it was not running."""
        return bool(self.stop_many([name], timeout_s))

    def stop_many(self, names: Sequence[str], timeout_s: float = 30.0) -> list[str]:
        """Stop several services at once (SIGTERM to all, then wait, then SIGKILL stragglers).

        Signalling together matters for peers such as a Raft quorum: stopped one by one, the
        last members lose their majority and cannot finish a clean shutdown.
        Returns the names that were running.
        """
        running = {name: pid for name in names if (pid := self.running_pid(name)) is not None}
        for pid in running.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for name, pid in running.items():
            # the whole group: a child that inherited a listening socket keeps the port
            try:
                _wait_group_gone(pid, max(0.0, deadline - time.monotonic()))
            except LabTimeoutError:  # SIGTERM was not enough
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                _wait_group_gone(pid, 10.0, self.log_file(name))
            self.pid_file(name).unlink(missing_ok=True)
        return list(running)

    def restart(self, spec: ServiceSpec) -> int:
        """Stop, wait until its ports are free again, then start and wait for readiness."""
        self.stop(spec.name, spec.stop_timeout_s)
        _wait_ports_free(spec.ports, timeout_s=15.0, log=self.log_file(spec.name))
        return self.start(spec)

    def log_tail(self, name: str, lines: int = 30) -> str:
        """The last ``lines`` lines of the service's log, or a note that there is none."""
        path = self.log_file(name)
        if not path.exists():
            return f"(no log at {path})"
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64_000))
            tail = handle.read().decode("utf-8", errors="replace").splitlines()
        return "\n".join(tail[-lines:])

    def _read_pid_file(self, name: str) -> dict[str, object] | None:
        path = self.pid_file(name)
        try:
            record = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, OSError):
            path.unlink(missing_ok=True)
            return None
        if not isinstance(record, dict) or "pid" not in record or "create_time" not in record:
            path.unlink(missing_ok=True)
            return None
        checked: dict[str, object] = record
        return checked


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _reap(pid: int) -> None:
    """Collect the exit status of our own child so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _alive(pid: int, create_time: float) -> bool:
    _reap(pid)
    try:
        proc = psutil.Process(pid)
        return (abs(proc.create_time() - create_time) < 1.0
                and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _wait_group_gone(pgid: int, timeout_s: float, log: Path | None = None) -> None:
    """Wait until the leader and every other member of process group ``pgid`` are gone."""
    wait_until(lambda: _group_left(pgid), until=lambda left: not left, timeout_s=timeout_s,
               every_s=0.2, what=f"process group {pgid} to exit", log=log)


def _group_left(pgid: int) -> list[int]:
    """The live processes of group ``pgid``: its leader while it runs, then the others."""
    return [pgid] if _running(pgid) else _live_group_members(pgid)


def _live_group_members(pgid: int) -> list[int]:
    """Members of process group ``pgid`` that still run (zombies waiting for a reaper that
    is not us hold no sockets and do not count)."""
    members = []
    for proc in psutil.process_iter(["status"]):
        with contextlib.suppress(ProcessLookupError, psutil.Error):
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(proc.pid)
    return members


def _wait_ports_free(ports: Sequence[int], timeout_s: float, log: Path | None = None) -> None:
    """Give a stopped server's sockets a moment to close."""

    def holders() -> dict[int, str]:
        return {port: holder for port in ports if (holder := port_holder(port)) is not None}

    wait_until(holders, until=lambda held: not held, timeout_s=timeout_s, every_s=0.2,
               what=f"ports {list(ports)} to be free", log=log)


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not; our own child is reaped on the way)."""
    _reap(pid)
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def lab_supervisor(cfg: LabConfig) -> Supervisor:
    """The supervisor of this checkout's state directory."""
    return Supervisor(cfg.paths.pids, cfg.paths.logs)
