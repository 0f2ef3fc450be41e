"""``pokupai kafka TOOL ARGS``: the command lines of Kafka's own tools, and the CLI's
pass-through (no JVM is started, no cluster is asked)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pokupai_lib import cli
from pokupai_lib.cli import app
from pokupai_lib.config import LabConfig, LabPaths
from pokupai_lib.errors import ArtifactError, CertificateError, InvalidInputError
from pokupai_lib.kafka import tools
from pokupai_lib.kafka.tools import KAFKA_TOOLS, kafka_tool, run_kafka_tool, tool_command
from pokupai_lib.runtime import jvm
from pokupai_lib.runtime.artifacts import kafka_libs_dir

# The tools the issue asks for, by their kafka-*.sh names.
REQUIRED = ("topics", "acls", "configs", "consumer-groups", "cluster", "metadata-quorum",
            "console-producer", "console-consumer", "producer-perf-test", "consumer-perf-test")


@pytest.fixture(autouse=True)
def java_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command lines do not depend on where java is, nor on java being installed."""
    monkeypatch.setattr(jvm, "java_executable", lambda: "java")


def _tool_args(cfg: LabConfig, name: str, args: Sequence[str], **how: str) -> list[str]:
    """What the tool's main class is given (the part of the command after it)."""
    tool = kafka_tool(name)
    command = tool_command(cfg, tool, args, **how)  # type: ignore[arg-type]
    assert command[0] == "java"
    return command[command.index(tool.main_class) + 1:]


def _props(cfg: LabConfig, principal: str = "admin") -> str:
    return str(cfg.paths.state / "clients" / f"{principal}.properties")


def test_the_issue_s_tools_are_all_there() -> None:
    assert set(REQUIRED) <= set(KAFKA_TOOLS)
    assert all(name == tool.name for name, tool in KAFKA_TOOLS.items())


def test_topics_gets_the_primary_and_admin_s_settings_before_the_user_s_args(
        tmp_cfg: LabConfig) -> None:
    args = _tool_args(tmp_cfg, "topics", ["--describe", "--topic", "shop-raw"])
    assert args == ["--bootstrap-server", tmp_cfg.primary.bootstrap_servers,
                    "--command-config", _props(tmp_cfg), "--describe", "--topic", "shop-raw"]


def test_the_command_runs_the_lab_s_jars_with_the_quiet_tools_logging(tmp_cfg: LabConfig
                                                                      ) -> None:
    command = tool_command(tmp_cfg, kafka_tool("acls"), ["--list"])
    assert command[command.index("-cp") + 1] == f"{kafka_libs_dir(tmp_cfg)}/*"
    assert any(part.endswith("tools-log4j2.properties") for part in command)
    assert "org.apache.kafka.tools.AclCommand" in command


def test_secondary_cluster_and_another_principal(tmp_cfg: LabConfig) -> None:
    args = _tool_args(tmp_cfg, "consumer-groups", ["--list"], cluster="secondary",
                      principal="intruder")
    assert args == ["--bootstrap-server", tmp_cfg.secondary.bootstrap_servers,
                    "--command-config", _props(tmp_cfg, "intruder"), "--list"]
    assert tmp_cfg.secondary.bootstrap_servers != tmp_cfg.primary.bootstrap_servers


@pytest.mark.parametrize("given", [["--bootstrap-server", "elsewhere:9092"],
                                   ["--bootstrap-server=elsewhere:9092"]])
def test_a_bootstrap_server_the_user_gives_is_kept_and_not_doubled(
        tmp_cfg: LabConfig, given: list[str]) -> None:
    args = _tool_args(tmp_cfg, "topics", ["--list", *given])
    assert args == ["--command-config", _props(tmp_cfg), "--list", *given]


def test_a_controller_bootstrap_replaces_the_servers(tmp_cfg: LabConfig) -> None:
    args = _tool_args(tmp_cfg, "metadata-quorum",
                      ["--bootstrap-controller", "localhost:9193", "describe", "--status"])
    assert "--bootstrap-server" not in args
    assert args[:2] == ["--command-config", _props(tmp_cfg)]


def test_a_config_file_the_user_gives_is_kept_in_any_of_its_spellings(tmp_cfg: LabConfig
                                                                      ) -> None:
    for name, flag in [("topics", "--command-config"), ("console-consumer", "--consumer.config"),
                       ("producer-perf-test", "--producer.config"), ("cluster", "--config"),
                       ("leader-election", "--admin.config")]:
        args = _tool_args(tmp_cfg, name, ["x", flag, "/my.properties"])
        assert args.count(flag) == 1, name
        assert "--command-config" not in args or flag == "--command-config", name
        assert "--bootstrap-server" in args, name


def test_quorum_flags_go_before_its_sub_command_cluster_s_after_it(tmp_cfg: LabConfig) -> None:
    quorum = _tool_args(tmp_cfg, "metadata-quorum", ["describe", "--status"])
    assert quorum[-2:] == ["describe", "--status"] and quorum[0] == "--bootstrap-server"
    cluster = _tool_args(tmp_cfg, "cluster", ["cluster-id"])
    assert cluster == ["cluster-id", "--bootstrap-server", tmp_cfg.primary.bootstrap_servers,
                       "--command-config", _props(tmp_cfg)]


def test_cluster_without_a_sub_command_is_left_to_complain_itself(tmp_cfg: LabConfig) -> None:
    assert _tool_args(tmp_cfg, "cluster", []) == []


@pytest.mark.parametrize("ask", ["--help", "-h", "--version"])
def test_help_and_version_pass_through_alone(tmp_cfg: LabConfig, ask: str) -> None:
    assert _tool_args(tmp_cfg, "topics", [ask]) == [ask]
    assert _tool_args(tmp_cfg, "cluster", ["cluster-id", ask]) == ["cluster-id", ask]


def test_console_and_perf_tools_get_the_scripts_512_mb(tmp_cfg: LabConfig) -> None:
    for name, heap in [("console-producer", 512), ("producer-perf-test", 512), ("topics", 256)]:
        assert f"-Xmx{heap}m" in tool_command(tmp_cfg, kafka_tool(name), ["x"]), name


def test_an_unknown_tool_is_one_error_naming_the_known_ones() -> None:
    with pytest.raises(InvalidInputError, match="unknown Kafka tool 'topic'") as raised:
        kafka_tool("topic")
    assert "topics" in str(raised.value) and "console-consumer" in str(raised.value)


def test_without_the_jars_it_says_run_make_bootstrap(tmp_cfg: LabConfig) -> None:
    with pytest.raises(ArtifactError, match="make bootstrap"):
        run_kafka_tool(tmp_cfg, "topics", ["--list"])


def test_a_principal_the_lab_does_not_have_is_refused(tmp_path: Path) -> None:
    cfg = LabConfig(paths=LabPaths(root=tmp_path), principals=("admin",))
    with pytest.raises(InvalidInputError, match="unknown principal 'intruder'"):
        run_kafka_tool(cfg, "topics", ["--list"], principal="intruder")


class _FakeProcess:
    def __init__(self, command: list[str]) -> None:
        self.command = command

    def wait(self, timeout: float | None = None) -> int:
        return 7


def _started(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Record instead of start the tool's process (exit code 7) and of asking the cluster."""
    started: list[list[str]] = []

    def popen(command: list[str]) -> _FakeProcess:
        started.append(command)
        return _FakeProcess(command)

    monkeypatch.setattr(tools.subprocess, "Popen", popen)
    monkeypatch.setattr(tools, "require_cluster", lambda cfg, cluster: None)
    return started


def test_without_the_principal_s_keystore_it_says_run_make_bootstrap(
        tmp_cfg: LabConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    kafka_libs_dir(tmp_cfg).mkdir(parents=True)
    started = _started(monkeypatch)
    with pytest.raises(CertificateError, match=r"intruder\.p12 is missing.*make bootstrap"):
        run_kafka_tool(tmp_cfg, "topics", ["--list"], principal="intruder")
    assert started == []


def test_a_run_writes_the_principal_s_file_and_returns_the_tool_s_exit_code(
        tmp_cfg: LabConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    kafka_libs_dir(tmp_cfg).mkdir(parents=True)
    tmp_cfg.paths.certs.mkdir()
    for store in ("intruder.p12", "truststore.p12"):
        (tmp_cfg.paths.certs / store).touch()
    started = _started(monkeypatch)
    code = run_kafka_tool(tmp_cfg, "acls", ["--list"], cluster="secondary", principal="intruder")
    assert code == 7
    assert started == [tool_command(tmp_cfg, kafka_tool("acls"), ["--list"], "secondary",
                                    "intruder")]
    text = Path(_props(tmp_cfg, "intruder")).read_text()
    assert "security.protocol=SSL" in text and "intruder.p12" in text


def test_help_needs_neither_certificates_nor_a_cluster(tmp_cfg: LabConfig,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    kafka_libs_dir(tmp_cfg).mkdir(parents=True)
    started = _started(monkeypatch)
    monkeypatch.setattr(tools, "require_cluster", None)  # calling it would fail the test
    assert run_kafka_tool(tmp_cfg, "topics", ["--help"]) == 7
    assert started[0][-1] == "--help"


class _Recorded:
    """Stands in for ``run_kafka_tool`` in the CLI: records its call, returns an exit code."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.calls: list[tuple[str, list[str], str, str]] = []

    def __call__(self, cfg: LabConfig, name: str, args: Sequence[str], cluster: str,
                 principal: str) -> int:
        self.calls.append((name, list(args), cluster, principal))
        return self.code


@pytest.mark.parametrize("argv, call", [
    (["topics", "--describe", "--topic", "shop-raw"],
     ("topics", ["--describe", "--topic", "shop-raw"], "primary", "admin")),
    (["--cluster", "secondary", "--principal", "intruder", "topics", "--list"],
     ("topics", ["--list"], "secondary", "intruder")),
    (["topics", "--help"], ("topics", ["--help"], "primary", "admin")),
    (["cluster", "cluster-id", "-h"], ("cluster", ["cluster-id", "-h"], "primary", "admin")),
    (["topics", "--cluster", "secondary", "--", "x"],
     ("topics", ["--cluster", "secondary", "--", "x"], "primary", "admin")),
    (["console-consumer", "--topic", "t", "--offset", "-1", "--partition", "0"],
     ("console-consumer", ["--topic", "t", "--offset", "-1", "--partition", "0"], "primary",
      "admin")),
    (["metadata-quorum", "describe", "--status"],
     ("metadata-quorum", ["describe", "--status"], "primary", "admin")),
])
def test_the_cli_passes_everything_after_the_tool_unchanged_and_exits_with_its_code(
        monkeypatch: pytest.MonkeyPatch, argv: list[str],
        call: tuple[str, list[str], str, str]) -> None:
    recorded = _Recorded(code=3)
    monkeypatch.setattr(cli, "run_kafka_tool", recorded)
    result = CliRunner().invoke(app, ["kafka", *argv])
    assert result.exit_code == 3, result.output
    assert recorded.calls == [call]


def test_the_cli_lists_the_tools_in_its_help() -> None:
    result = CliRunner().invoke(app, ["kafka", "--help"], terminal_width=120)
    assert result.exit_code == 0
    assert all(name in result.output for name in KAFKA_TOOLS)


def test_the_cli_refuses_an_unknown_tool_in_one_line() -> None:
    result = CliRunner().invoke(app, ["kafka", "topicz", "--list"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1
    assert len(lines) == 1 and lines[0].startswith("error: unknown Kafka tool 'topicz'")


def test_the_cli_refuses_a_cluster_it_does_not_know() -> None:
    result = CliRunner().invoke(app, ["kafka", "--cluster", "tertiary", "topics", "--list"])
    assert result.exit_code == 2
