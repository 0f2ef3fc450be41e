"""Apache Kafka's own command-line tools (the ``kafka-*.sh`` scripts' main classes), run from
the lab's jars against a lab cluster as a lab principal.

Each tool is named as its script without ``kafka-`` (``topics`` is ``kafka-topics.sh``). The lab
adds the cluster's bootstrap servers and a client properties file with the principal's TLS
settings, each unless the user gave that flag; every other argument passes through unchanged.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pokupai_lib.config import ClusterName, LabConfig, Principal
from pokupai_lib.errors import ArtifactError, CertificateError, InvalidInputError
from pokupai_lib.kafka.clients import (
    client_properties_path,
    jvm_client_properties,
    require_cluster,
)
from pokupai_lib.runtime.artifacts import kafka_libs_dir
from pokupai_lib.runtime.certs import cert_files
from pokupai_lib.runtime.jvm import jvm_command

__all__ = ["HELP_FLAGS", "KAFKA_TOOLS", "KafkaTool", "asks_help", "kafka_tool",
           "kafka_tool_output", "run_kafka_tool", "tool_command"]

# Arguments that only ask a tool about itself: it gets no lab flags and needs no cluster.
HELP_FLAGS = frozenset({"--help", "-h", "--version"})

_PKG = "org.apache.kafka.tools"
_SERVER = ("--bootstrap-server",)
# A tool that also has --bootstrap-controller may be pointed at the controllers instead.
_SERVER_OR_CONTROLLER = ("--bootstrap-server", "--bootstrap-controller")
_CONFIG = "--command-config"


@dataclass(frozen=True)
class KafkaTool:
    """One of Kafka's tools: its main class in Kafka 4.3.1 and how it takes a cluster and a
    client properties file.

    ``server_flags`` and ``config_flags`` are every spelling the tool accepts for the setting
    (deprecated and short ones too): when the user gives any of them, the lab adds none. The
    first of each is the one the lab adds, the tool's non-deprecated flag. ``placement`` is
    where the lab's flags go: argparse4j tools with sub-commands (metadata-quorum, features,
    transactions) take them before the sub-command, kafka-cluster after it (they are options of
    each of its sub-commands); for the jopt-simple tools the place does not matter.
    """

    name: str
    main_class: str
    summary: str
    server_flags: tuple[str, ...] = _SERVER
    config_flags: tuple[str, ...] = (_CONFIG,)
    placement: Literal["before", "after"] = "before"
    heap_mb: int = 256  # kafka-run-class.sh's -Xmx256M; console and perf scripts ask for 512M


KAFKA_TOOLS: dict[str, KafkaTool] = {tool.name: tool for tool in (
    KafkaTool("topics", f"{_PKG}.TopicCommand", "create, list, describe, alter, delete topics"),
    KafkaTool("acls", f"{_PKG}.AclCommand", "list, add, remove ACLs",
              server_flags=_SERVER_OR_CONTROLLER),
    KafkaTool("configs", "kafka.admin.ConfigCommand",
              "describe, alter configs of topics, brokers, users...",
              server_flags=_SERVER_OR_CONTROLLER),
    KafkaTool("consumer-groups", f"{_PKG}.consumer.group.ConsumerGroupCommand",
              "list, describe, reset, delete consumer groups"),
    KafkaTool("cluster", f"{_PKG}.ClusterTool", "cluster-id, list-endpoints, unregister",
              server_flags=(*_SERVER_OR_CONTROLLER, "-b", "-C"),
              config_flags=(_CONFIG, "-c", "--config"), placement="after"),
    KafkaTool("metadata-quorum", f"{_PKG}.MetadataQuorumCommand",
              "the KRaft quorum: describe --status|--replication",
              server_flags=_SERVER_OR_CONTROLLER),
    KafkaTool("features", f"{_PKG}.FeatureCommand", "describe, upgrade, downgrade features",
              server_flags=_SERVER_OR_CONTROLLER),
    KafkaTool("console-producer", f"{_PKG}.ConsoleProducer", "produce stdin's lines to a topic",
              config_flags=(_CONFIG, "--producer.config"), heap_mb=512),
    KafkaTool("console-consumer", f"{_PKG}.consumer.ConsoleConsumer",
              "print a topic's records on stdout",
              config_flags=(_CONFIG, "--consumer.config"), heap_mb=512),
    KafkaTool("console-share-consumer", f"{_PKG}.consumer.ConsoleShareConsumer",
              "print a topic's records as a share group member",
              config_flags=(_CONFIG, "--consumer-config"), heap_mb=512),
    KafkaTool("producer-perf-test", f"{_PKG}.ProducerPerformance", "producer throughput",
              config_flags=(_CONFIG, "--producer.config"), heap_mb=512),
    KafkaTool("consumer-perf-test", f"{_PKG}.ConsumerPerformance", "consumer throughput",
              config_flags=(_CONFIG, "--consumer.config"), heap_mb=512),
    KafkaTool("get-offsets", f"{_PKG}.GetOffsetShell", "offsets of topic partitions"),
    KafkaTool("log-dirs", f"{_PKG}.LogDirsCommand", "the brokers' log directories"),
    KafkaTool("delete-records", f"{_PKG}.DeleteRecordsCommand",
              "delete records below offsets (a JSON file)"),
    KafkaTool("reassign-partitions", f"{_PKG}.reassign.ReassignPartitionsCommand",
              "move partition replicas between brokers", server_flags=_SERVER_OR_CONTROLLER),
    KafkaTool("leader-election", f"{_PKG}.LeaderElectionCommand",
              "preferred or unclean leader elections",
              config_flags=(_CONFIG, "--admin.config")),
    KafkaTool("transactions", f"{_PKG}.TransactionsCommand",
              "list, describe, abort, find hanging transactions"),
    KafkaTool("groups", f"{_PKG}.GroupsCommand", "list groups of every type"),
    KafkaTool("share-groups", f"{_PKG}.consumer.group.ShareGroupCommand",
              "list, describe, delete share groups"),
    KafkaTool("streams-groups", f"{_PKG}.streams.StreamsGroupCommand",
              "list, describe, delete streams groups"),
    KafkaTool("broker-api-versions", f"{_PKG}.BrokerApiVersionsCommand",
              "the API versions each broker supports"),
    KafkaTool("client-metrics", f"{_PKG}.ClientMetricsCommand",
              "client metrics subscriptions"),
)}


def kafka_tool(name: str) -> KafkaTool:
    """The tool called ``name`` (``topics``, ``console-consumer``...).

    Raises:
        InvalidInputError: no such tool; the message lists the known ones.
    """
    try:
        return KAFKA_TOOLS[name]
    except KeyError:
        raise InvalidInputError(f"unknown Kafka tool {name!r}: use one of "
                                f"{', '.join(KAFKA_TOOLS)}") from None


def asks_help(args: Sequence[str]) -> bool:
    """Whether ``args`` only ask the tool for its help or version."""
    return not HELP_FLAGS.isdisjoint(args)


def _gives(args: Sequence[str], flags: tuple[str, ...]) -> bool:
    """Whether ``args`` give one of ``flags``, as ``--flag value`` or ``--flag=value``."""
    return any(arg == flag or arg.startswith(f"{flag}=") for arg in args for flag in flags)


def tool_command(cfg: LabConfig, tool: KafkaTool, args: Sequence[str],
                 cluster: ClusterName = "primary", principal: Principal = "admin") -> list[str]:
    """The ``java`` command line running ``tool`` with the user's ``args`` unchanged.

    Args:
        cfg: the lab configuration (jars, the tools' log4j2 file, bootstrap servers).
        tool: the tool to run.
        args: what the user typed after the tool's name.
        cluster: whose bootstrap servers are added, unless ``args`` give the tool's flag.
        principal: whose client properties file (see ``jvm_client_properties``) is added,
            unless ``args`` give the tool's flag. The file is not written here.

    Returns:
        The command. No flag is added when ``args`` ask for help or the version, nor to a
        tool taking them after its sub-command when there is none (the tool's usage is then
        its own complaint, not an unknown ``--bootstrap-server``).
    """
    user = list(args)
    lab: list[str] = []
    if not asks_help(user) and (user or tool.placement == "before"):
        if not _gives(user, tool.server_flags):
            lab += [tool.server_flags[0], cfg.cluster(cluster).bootstrap_servers]
        if not _gives(user, tool.config_flags):
            lab += [tool.config_flags[0], str(client_properties_path(cfg, principal))]
    ordered = [*user, *lab] if tool.placement == "after" else [*lab, *user]
    return jvm_command(cfg, tool.main_class, ordered, heap_mb=tool.heap_mb)


def _check_principal(cfg: LabConfig, principal: Principal) -> None:
    if principal not in cfg.principals:
        raise InvalidInputError(f"unknown principal {principal!r}: use one of "
                                f"{', '.join(cfg.principals)}")


def _write_client_properties(cfg: LabConfig, principal: Principal) -> None:
    """Write the principal's properties file, after checking that its keystore and the
    truststore exist (a missing one is then one line, not a Java stack trace)."""
    for path in (cert_files(cfg.paths.certs, principal).keystore,
                 cfg.paths.certs / "truststore.p12"):
        if not path.exists():
            raise CertificateError(f"{path} is missing: create the lab's certificates with "
                                   "`make bootstrap`")
    jvm_client_properties(cfg, principal)


def _wait(process: subprocess.Popen[bytes], grace_s: float) -> int:
    """The tool's exit code. On Ctrl-C the tool got the same SIGINT (one process group) and
    runs its shutdown hooks (the console consumer prints its count): it gets ``grace_s``."""
    try:
        return process.wait()
    except KeyboardInterrupt:
        try:
            return process.wait(timeout=grace_s)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            process.kill()
            process.wait()
            return 130  # the shell's code for "ended by SIGINT"


def run_kafka_tool(cfg: LabConfig, name: str, args: Sequence[str],
                   cluster: ClusterName = "primary", principal: Principal = "admin",
                   grace_s: float = 10.0) -> int:
    """Run Kafka's tool ``name`` against ``cluster`` as ``principal``, with this process's
    stdin, stdout and stderr (the tool logs warnings and errors only).

    Args:
        cfg: the lab configuration.
        name: the tool, a key of :data:`KAFKA_TOOLS`.
        args: what the user typed after the tool's name, passed on unchanged; the bootstrap
            and client config flags are added only where ``args`` lack them.
        cluster: whose bootstrap servers to add.
        principal: whose certificate the tool presents.
        grace_s: how long the tool may take to finish after Ctrl-C before it is killed.

    Returns:
        The tool's exit code.

    Raises:
        InvalidInputError: an unknown tool or principal.
        ArtifactError: Kafka's jars are not there.
        CertificateError: the principal's keystore or the truststore is missing.
        ClusterDownError: the lab adds the bootstrap servers and that cluster does not answer.
    """
    command = _prepared_command(cfg, name, args, cluster, principal)
    process = subprocess.Popen(command)  # noqa: S603
    return _wait(process, grace_s)


def kafka_tool_output(cfg: LabConfig, name: str, args: Sequence[str],
                      cluster: ClusterName = "primary", principal: Principal = "admin",
                      timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run Kafka's tool ``name`` like :func:`run_kafka_tool`, capturing its exit code, stdout
    and stderr (for notebooks and tests); same errors, plus TimeoutExpired after
    ``timeout_s``."""
    command = _prepared_command(cfg, name, args, cluster, principal)
    return subprocess.run(command, capture_output=True, text=True,  # noqa: S603
                          timeout=timeout_s, check=False)


def _prepared_command(cfg: LabConfig, name: str, args: Sequence[str], cluster: ClusterName,
                      principal: Principal) -> list[str]:
    """The tool's command line, once the principal, the jars, the client properties and (when
    the lab adds the bootstrap servers) the cluster are known to be there."""
    tool = kafka_tool(name)
    _check_principal(cfg, principal)
    libs = kafka_libs_dir(cfg)
    if not libs.is_dir():
        raise ArtifactError(f"Kafka's jars are not in {libs}: fetch them with `make bootstrap`")
    if not asks_help(args):
        if not _gives(args, tool.config_flags):
            _write_client_properties(cfg, principal)
        if not _gives(args, tool.server_flags):
            require_cluster(cfg, cluster)  # one line now, not the tool's retries for a minute
    return tool_command(cfg, tool, args, cluster, principal)
