"""The CLI turns a lab error, or a platform that is down, into one line and exit code 1.

No service is involved: every port of the lab is moved to a free one, so nothing answers.
"""

from __future__ import annotations

import json
import socket
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic import BaseModel
from typer.testing import CliRunner

from pokupai_lib import cli, lab
from pokupai_lib.cli import app, main
from pokupai_lib.config import LabConfig, load_config
from pokupai_lib.dlq.replay import ReplayResult
from pokupai_lib.kafka.clients import require_cluster
from pokupai_lib.runtime.certs import ensure_certificates
from pokupai_lib.runtime.supervisor import Supervisor
from pokupai_lib.verify.checks import VerifyReport
from pokupai_lib.verify.compare import StageDiff

# The arguments each subcommand is run with. The test fails when the parser has a subcommand
# that is in none of these tables, so a new one cannot be forgotten.
READ_WRITE = {
    ("status",): [],
    ("acls",): [],
    ("ban", "add"): ["бан", "sku-1"],
    ("ban", "remove"): ["бан"],
    ("ban", "list"): [],
    ("ban", "why"): ["12345"],
    ("publish",): ["--count", "5"],
    ("search",): ["часы", "--client", "1"],
    ("recommend",): ["1"],
    ("verify",): [],
    ("dlq", "list"): [],
    ("dlq", "replay"): ["shop-dlq", "--dry-run"],
}
# Would set up or start the platform: run on a state directory that is a file, which they
# refuse before they download or start anything (and the test fails if they try).
STARTING = {("bootstrap",): [], ("up",): []}
# Runs the notebooks, which start the platform: run where there are none.
RUNS_NOTEBOOKS = {("lab",): []}
# Runs Kafka's own tools from the jars: run where there are none.
NEEDS_KAFKA_JARS = {("kafka",): ["topics", "--list"]}
# Succeeds when nothing runs, by design: `make clean` runs it on a fresh checkout.
SUCCEEDS_WHEN_DOWN = {("down",): [], ("stop",): ["kafka-3", "filter"]}


def _subcommands(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The paths of every runnable subcommand of the parser (``("ban", "add")``...)."""
    for name, sub in getattr(command, "commands", {}).items():
        if hasattr(sub, "commands"):
            yield from _subcommands(sub, (*prefix, name))
        else:
            yield (*prefix, name)


def test_every_subcommand_is_covered_below() -> None:
    covered = {*READ_WRITE, *STARTING, *RUNS_NOTEBOOKS, *NEEDS_KAFKA_JARS, *SUCCEEDS_WHEN_DOWN}
    assert set(_subcommands(typer.main.get_command(app))) == covered


def _free_port_env(root: Path) -> dict[str, str]:
    """``LAB_*`` variables putting the lab's files under ``root`` and each of its ports on a
    port nothing listens on (held open until all are chosen, so they differ)."""
    held: list[socket.socket] = []

    def free() -> int:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        held.append(sock)
        return int(sock.getsockname()[1])

    defaults = LabConfig()
    env = {"LAB_PATHS__ROOT": str(root)}
    for section_name, section in defaults:
        if isinstance(section, BaseModel):
            for field, value in section:
                if field.endswith("port") and isinstance(value, int):
                    env[f"LAB_{section_name.upper()}__{field.upper()}"] = str(free())
    for cluster in (defaults.primary, defaults.secondary):
        env[f"LAB_{cluster.name.upper()}__NODES"] = json.dumps([
            {"node_id": node.node_id, "broker_port": free(), "controller_port": free()}
            for node in cluster.nodes])
    for sock in held:
        sock.close()
    return env


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.fixture
def down_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LabConfig]:
    """The lab's configuration, loaded as the CLI loads it, with nothing listening on any of
    its ports; starting a service or resolving artifacts fails the test."""
    for name, value in _free_port_env(tmp_path).items():
        monkeypatch.setenv(name, value)

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a unit test must not start or download anything")

    monkeypatch.setattr(Supervisor, "launch", refuse)
    monkeypatch.setattr(lab, "ensure_kafka_libs", refuse)
    monkeypatch.setattr(cli, "run_notebooks", refuse)
    load_config.cache_clear()
    cfg = load_config()
    busy = [port for spec in lab.all_service_specs(cfg) for port in spec.ports if _answers(port)]
    assert not busy, f"ports {busy} answer: the test would talk to a running service"
    assert not any(_answers(node.broker_port) for node in (*cfg.primary.nodes,
                                                          *cfg.secondary.nodes))
    yield cfg
    load_config.cache_clear()


RunCli = Callable[[list[str]], tuple[int, list[str]]]


@pytest.fixture
def run_cli(capfd: pytest.CaptureFixture[str]) -> RunCli:
    """Run ``pokupai argv`` in this process; its exit code and its non-blank output lines
    (stdout and stderr, including what C libraries write to the file descriptors)."""
    def run(argv: list[str]) -> tuple[int, list[str]]:
        capfd.readouterr()
        with pytest.raises(SystemExit) as exited:
            main(argv)
        out = capfd.readouterr()
        code = exited.value.code
        return (code if isinstance(code, int) else 0 if code is None else 1,
                [line for line in (out.out + out.err).splitlines() if line.strip()])
    return run


def _assert_one_error_line(code: int, lines: list[str], argv: list[str]) -> None:
    assert code == 1, (argv, lines)
    assert len(lines) == 1, (argv, lines)
    assert lines[0].startswith("error: "), (argv, lines)
    assert "Traceback" not in lines[0]


@pytest.mark.parametrize("path", list(READ_WRITE), ids=" ".join)
def test_a_command_on_a_stopped_platform_fails_in_one_line(
        down_platform: LabConfig, run_cli: RunCli, path: tuple[str, ...]) -> None:
    argv = [*path, *READ_WRITE[path]]
    code, lines = run_cli(argv)
    _assert_one_error_line(code, lines, argv)
    assert "make up" in lines[0] or "pokupai up" in lines[0]


@pytest.mark.parametrize("path", list(STARTING), ids=" ".join)
def test_a_command_that_starts_the_platform_refuses_a_foreign_state_dir_in_one_line(
        down_platform: LabConfig, run_cli: RunCli, path: tuple[str, ...]) -> None:
    down_platform.paths.state.write_text("not the lab's state directory")
    argv = [*path, *STARTING[path]]
    code, lines = run_cli(argv)
    _assert_one_error_line(code, lines, argv)


@pytest.mark.parametrize("path", list(RUNS_NOTEBOOKS), ids=" ".join)
def test_running_the_notebooks_where_there_are_none_fails_in_one_line(
        down_platform: LabConfig, run_cli: RunCli, path: tuple[str, ...]) -> None:
    argv = [*path, *RUNS_NOTEBOOKS[path]]
    code, lines = run_cli(argv)
    _assert_one_error_line(code, lines, argv)
    assert "no numbered notebooks" in lines[0]


@pytest.mark.parametrize("path", list(NEEDS_KAFKA_JARS), ids=" ".join)
def test_a_kafka_tool_without_the_jars_fails_in_one_line(
        down_platform: LabConfig, run_cli: RunCli, path: tuple[str, ...]) -> None:
    argv = [*path, *NEEDS_KAFKA_JARS[path]]
    code, lines = run_cli(argv)
    _assert_one_error_line(code, lines, argv)
    assert "make bootstrap" in lines[0]


@pytest.mark.parametrize("path", list(SUCCEEDS_WHEN_DOWN), ids=" ".join)
def test_down_on_a_stopped_platform_says_so_in_one_line(
        down_platform: LabConfig, run_cli: RunCli, path: tuple[str, ...]) -> None:
    code, lines = run_cli([*path, *SUCCEEDS_WHEN_DOWN[path]])
    assert (code, lines) == (0, ["stopped: nothing was running"])


@pytest.mark.parametrize("argv", [["acls"], ["ban", "list"], ["ban", "add", "бан"]],
                         ids=" ".join)
def test_a_cluster_that_accepts_connections_but_never_answers_fails_fast(
        down_platform: LabConfig, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch,
        argv: list[str]) -> None:
    ensure_certificates(down_platform)
    monkeypatch.setattr(cli, "require_cluster", partial(require_cluster, timeout_s=1.0))
    with socket.socket() as silent:  # the kernel accepts connections, nobody answers
        silent.bind(("localhost", down_platform.primary.nodes[0].broker_port))
        silent.listen(8)
        code, lines = run_cli(argv)
    _assert_one_error_line(code, lines, argv)
    assert "did not answer within 1 s" in lines[0]


def test_stopping_a_service_the_lab_does_not_have_names_those_it_has(
        down_platform: LabConfig, run_cli: RunCli) -> None:
    code, lines = run_cli(["stop", "kafka-9"])
    _assert_one_error_line(code, lines, ["stop", "kafka-9"])
    assert "no service named kafka-9" in lines[0]
    assert "kafka-3" in lines[0] and "registry-proxy" in lines[0]


def test_an_empty_ban_term_is_one_line_and_exit_1() -> None:
    result = CliRunner().invoke(app, ["ban", "add", "   "])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("error: ban term")


def test_an_unknown_kind_is_refused_by_the_parser() -> None:
    result = CliRunner().invoke(app, ["ban", "add", "x", "--kind", "color"])
    assert result.exit_code == 2


def test_search_without_a_running_api_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_CLIENT_API__PORT", "9")  # discard port: nothing listens there
    load_config.cache_clear()
    try:
        result = CliRunner().invoke(app, ["search", "часы", "--client", "1"])
    finally:
        load_config.cache_clear()
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "did not answer" in lines[0] and "pokupai up" in lines[0]


def _no_cluster_check(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []
    monkeypatch.setattr(cli, "require_cluster", lambda _cfg, cluster="primary": asked.append(
        cluster))
    return asked


@pytest.mark.parametrize(("ok", "code"), [(True, 0), (False, 1)])
def test_verify_prints_the_table_and_exits_1_unless_consistent(
        monkeypatch: pytest.MonkeyPatch, ok: bool, code: int) -> None:
    asked = _no_cluster_check(monkeypatch)
    stale = () if ok else ("42",)
    report = VerifyReport((StageDiff("shop-clear", 2), StageDiff("index products", 2,
                                                                 stale=stale)))
    waits: list[float] = []
    monkeypatch.setattr(cli, "verify_stages",
                        lambda _cfg, wait_s, stages: waits.append(wait_s) or report)
    result = CliRunner().invoke(app, ["verify", "--wait", "30"])
    assert result.exit_code == code, result.output
    assert waits == [30.0] and asked == ["primary", "secondary"]
    lines = result.output.splitlines()
    assert lines[0].split() == ["stage", "records", "missing", "extra", "stale",
                                "dead-lettered", "examples"]
    assert ("stale: 42" in result.output) is not ok
    assert lines[-1] == ("all stages consistent" if ok else "NOT consistent: index products")


def test_verify_compares_only_the_stages_named(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_cluster_check(monkeypatch)
    asked: list[object] = []
    monkeypatch.setattr(cli, "verify_stages", lambda _cfg, wait_s, stages: asked.append(
        stages) or VerifyReport((StageDiff("shop-clear", 0),)))
    result = CliRunner().invoke(app, ["verify", "--stage", "index", "--stage", "mirror"])
    assert result.exit_code == 0, result.output
    assert asked == [["mirror", "index"]]
    refused = CliRunner().invoke(app, ["verify", "--stage", "elastic"])
    assert refused.exit_code == 1
    assert "no stage elastic: choose from mirror, index, categories" in refused.output


def test_dlq_replay_prints_what_it_redrove(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _no_cluster_check(monkeypatch)
    calls: list[tuple[str, bool, bool]] = []

    def replay(_cfg: LabConfig, topic: str, dry_run: bool, from_beginning: bool
               ) -> ReplayResult:
        calls.append((topic, dry_run, from_beginning))
        return ReplayResult(topic, dry_run, 3, Counter({"primary.shop-clear": 2}),
                            Counter({"superseded": 1}))

    monkeypatch.setattr(cli, "replay_dead_letters", replay)
    result = CliRunner().invoke(app, ["dlq", "replay", "connect-dlq-products-es-sink",
                                      "--from-beginning"])
    assert result.exit_code == 0, result.output
    assert calls == [("connect-dlq-products-es-sink", False, True)]
    assert asked == ["secondary"]
    assert result.output.splitlines() == [
        "connect-dlq-products-es-sink: 3 dead letter(s) read",
        "  re-drove 2 to primary.shop-clear", "  skipped 1: superseded"]


def test_dlq_replay_of_a_topic_that_is_no_dead_letter_topic_is_one_line() -> None:
    result = CliRunner().invoke(app, ["dlq", "replay", "shop-raw"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: 'shop-raw' is not a dead-letter")


def test_dlq_list_shows_each_topic(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_cluster_check(monkeypatch)
    monkeypatch.setattr(cli, "dlq_counts", lambda _cfg: {"shop-dlq": (5, 2)})
    result = CliRunner().invoke(app, ["dlq", "list"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["shop-dlq: 5 letter(s), 2 not replayed"]
