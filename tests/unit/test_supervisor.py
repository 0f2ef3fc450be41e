"""The supervisor against real local processes (no network beyond loopback)."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from pokupai_lib.errors import PortBusyError, ServiceNotReadyError
from pokupai_lib.runtime.supervisor import ProbeResult, ServiceSpec, Supervisor, tcp_probe


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    sup = Supervisor(tmp_path / "run", tmp_path / "logs")
    yield sup
    for pid_file in (tmp_path / "run").glob("*.pid"):
        sup.stop(pid_file.stem, timeout_s=2)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _http_server(port: int) -> ServiceSpec:
    return ServiceSpec(
        name="web", command=[sys.executable, "-m", "http.server", str(port), "-b", "127.0.0.1"],
        ports=(port,), probe=tcp_probe(port), ready_timeout_s=15, stop_timeout_s=5)


def test_start_waits_for_readiness_and_is_a_no_op_when_running(supervisor: Supervisor) -> None:
    spec = _http_server(_free_port())
    pid = supervisor.start(spec)
    assert tcp_probe(spec.ports[0])().ok
    assert supervisor.start(spec) == pid
    status = supervisor.status(spec)
    assert (status.state, status.pid) == ("running", pid)
    assert "accepts connections" in status.health


def test_stop_terminates_and_status_says_stopped(supervisor: Supervisor) -> None:
    spec = _http_server(_free_port())
    pid = supervisor.start(spec)
    assert supervisor.stop("web", timeout_s=5) is True
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert supervisor.status(spec).state == "stopped"
    assert supervisor.stop("web") is False


def test_a_process_ignoring_sigterm_is_killed_after_the_timeout(supervisor: Supervisor) -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    spec = ServiceSpec(name="stubborn", command=[sys.executable, "-c", code])
    pid = supervisor.start(spec)
    assert supervisor.stop("stubborn", timeout_s=1) is True
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_stale_pid_file_is_detected_and_removed(supervisor: Supervisor, tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    dead = psutil.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    supervisor.pid_file("ghost").write_text(json.dumps({"pid": dead.pid, "create_time": 1.0}))
    spec = ServiceSpec(name="ghost", command=["true"])
    assert supervisor.status(spec).state == "stale"
    assert not supervisor.pid_file("ghost").exists()
    assert supervisor.status(spec).state == "stopped"


def test_pid_reused_by_another_process_is_stale(supervisor: Supervisor, tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    me = psutil.Process()
    supervisor.pid_file("impostor").write_text(
        json.dumps({"pid": me.pid, "create_time": me.create_time() - 1000}))
    assert supervisor.running_pid("impostor") is None


def test_busy_port_names_the_port_and_its_holder(supervisor: Supervisor) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortBusyError, match=rf"port {port}.*pid {psutil.Process().pid}"):
            supervisor.launch(_http_server(port))
    assert not supervisor.pid_file("web").exists()


_PARENT_AND_LINGERING_CHILD = """
import signal, socket, subprocess, sys, time
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
child = ("import signal, time; signal.signal(signal.SIGTERM, lambda *_: (time.sleep(1.5), "
         "exit(0))); time.sleep(60)")
subprocess.Popen([sys.executable, "-c", child], pass_fds=[server.fileno()])
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    server.accept()[0].close()
"""


def test_restart_waits_for_a_child_that_still_holds_the_port(supervisor: Supervisor) -> None:
    port = _free_port()
    spec = ServiceSpec(name="forking", ports=(port,), probe=tcp_probe(port), ready_timeout_s=15,
                       stop_timeout_s=5, command=[sys.executable, "-c",
                                                  _PARENT_AND_LINGERING_CHILD, str(port)])
    first = supervisor.start(spec)
    second = supervisor.restart(spec)  # the child outlives its parent by 1.5 s
    assert second != first and tcp_probe(port)().ok


def test_not_ready_names_the_service_the_probe_and_the_log_tail(supervisor: Supervisor) -> None:
    code = "print('booting the widget', flush=True); import time; time.sleep(30)"
    spec = ServiceSpec(name="slow", command=[sys.executable, "-c", code],
                       probe=lambda: ProbeResult(False, "widget endpoint refused"),
                       ready_timeout_s=1.5)
    with pytest.raises(ServiceNotReadyError) as err:
        supervisor.start(spec)
    message = str(err.value)
    assert "slow not ready" in message
    assert "widget endpoint refused" in message
    assert "booting the widget" in message


def test_a_service_that_dies_at_start_up_is_reported_with_its_log(
        supervisor: Supervisor) -> None:
    spec = ServiceSpec(name="crash", command=[sys.executable, "-c", "raise SystemExit('boom')"],
                       probe=lambda: ProbeResult(False, "never"), ready_timeout_s=10)
    with pytest.raises(ServiceNotReadyError, match=r"(?s)crash exited during start-up.*boom"):
        supervisor.start(spec)
