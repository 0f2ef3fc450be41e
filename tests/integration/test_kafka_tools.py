"""``pokupai kafka TOOL ARGS``: Apache Kafka's own tools against the running lab, through the
CLI as a user runs it (each call is a ``python -m pokupai_lib`` process and a JVM)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

from lab_fixture import Lab

import pokupai_lib
from pokupai_lib.kafka.checks import describe_cluster
from pokupai_lib.kafka.tools import KAFKA_TOOLS
from pokupai_lib.runtime.artifacts import kafka_libs_dir

_CHECKOUT = Path(pokupai_lib.__file__).resolve().parents[1]


def _kafka(lab: Lab, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``pokupai kafka ARGV`` from this checkout on the lab the fixture runs."""
    env = {**os.environ, "LAB_PATHS__ROOT": str(lab.cfg.paths.root),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(_CHECKOUT),
                                                        os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "pokupai_lib", "kafka", *argv],
                          input=stdin, capture_output=True, env=env, cwd=_CHECKOUT,
                          timeout=300, check=False,
                          encoding="utf-8")  # the console tools read and write UTF-8 bytes


def test_every_tool_s_main_class_is_in_the_lab_s_kafka_jars(lab: Lab) -> None:
    classes: set[str] = set()
    for jar in kafka_libs_dir(lab.cfg).glob("*.jar"):
        with zipfile.ZipFile(jar) as archive:
            classes.update(archive.namelist())
    missing = [tool.main_class for tool in KAFKA_TOOLS.values()
               if tool.main_class.replace(".", "/") + ".class" not in classes]
    assert not missing


def test_cluster_id_is_the_one_the_admin_api_reports(lab: Lab) -> None:
    run = _kafka(lab, "cluster", "cluster-id")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"Cluster ID: {describe_cluster(lab.cfg).cluster_id}"


def test_topics_describes_shop_raw_as_designed(lab: Lab) -> None:
    run = _kafka(lab, "topics", "--describe", "--topic", lab.cfg.topics.shop_raw)
    assert run.returncode == 0, run.stderr
    layout = lab.cfg.topics.layout
    assert f"Topic: {lab.cfg.topics.shop_raw}\t" in run.stdout
    assert f"ReplicationFactor: {layout.replication_factor}" in run.stdout
    assert f"min.insync.replicas={layout.min_insync_replicas}" in run.stdout


def test_acls_lists_the_design_s_grants(lab: Lab) -> None:
    run = _kafka(lab, "acls", "--list")
    assert run.returncode == 0, run.stderr
    assert f"name={lab.cfg.topics.shop_raw}, patternType=LITERAL" in run.stdout
    assert "principal=User:CN=filter" in run.stdout


def test_metadata_quorum_reports_a_leader_and_three_voters(lab: Lab) -> None:
    run = _kafka(lab, "metadata-quorum", "describe", "--status")
    assert run.returncode == 0, run.stderr
    status = dict(line.split(":", 1) for line in run.stdout.splitlines() if ":" in line)
    assert int(status["LeaderId"]) in {n.node_id for n in lab.cfg.primary.nodes}
    assert status["CurrentVoters"].count('"id"') == len(lab.cfg.primary.nodes)


def test_the_secondary_cluster_holds_the_mirrored_topics(lab: Lab) -> None:
    run = _kafka(lab, "--cluster", "secondary", "topics", "--list")
    assert run.returncode == 0, run.stderr
    topics = set(run.stdout.split())
    assert {lab.cfg.mirror.remote_topic(t) for t in lab.cfg.mirrored_topics} <= topics
    assert lab.cfg.topics.shop_raw not in topics  # not mirrored: this is the other cluster


def test_consumer_groups_lists_the_filter_s_group(lab: Lab) -> None:
    run = _kafka(lab, "consumer-groups", "--list")
    assert run.returncode == 0, run.stderr
    assert lab.cfg.filter.group_id in run.stdout.split()


def test_intruder_is_refused_by_kafka_s_own_tools(lab: Lab) -> None:
    # A topic it may not describe does not exist as far as the intruder can tell...
    hidden = _kafka(lab, "--principal", "intruder", "topics", "--describe",
                    "--topic", lab.cfg.topics.shop_raw)
    assert hidden.returncode != 0
    assert "does not exist" in hidden.stdout + hidden.stderr
    # ...and a cluster-level request says so plainly.
    refused = _kafka(lab, "--principal", "intruder", "acls", "--list")
    assert refused.returncode != 0
    assert "ClusterAuthorizationException" in refused.stdout + refused.stderr


def test_console_producer_and_consumer_round_trip_on_a_fresh_topic(lab: Lab) -> None:
    topic = f"it-tools-{uuid.uuid4().hex[:10]}"
    layout = lab.cfg.topics.layout
    created = _kafka(lab, "topics", "--create", "--topic", topic, "--partitions", "1",
                     "--replication-factor", str(layout.replication_factor),
                     "--config", f"min.insync.replicas={layout.min_insync_replicas}")
    assert created.returncode == 0, created.stderr
    try:
        lines = ["первый", "second", "third"]
        produced = _kafka(lab, "console-producer", "--topic", topic,
                          stdin="".join(f"{line}\n" for line in lines))
        assert produced.returncode == 0, produced.stderr
        # A partition and an offset: the consumer is assigned, it joins no group.
        consumed = _kafka(lab, "console-consumer", "--topic", topic, "--partition", "0",
                          "--offset", "earliest", "--max-messages", str(len(lines)),
                          "--timeout-ms", "60000")
        assert consumed.returncode == 0, consumed.stderr
        assert consumed.stdout.splitlines() == lines
    finally:
        deleted = _kafka(lab, "topics", "--delete", "--topic", topic)
    assert deleted.returncode == 0, deleted.stderr
