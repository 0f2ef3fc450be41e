from __future__ import annotations

from lab_fixture import Lab

from pokupai_lib.kafka.checks import describe_cluster, quorum_replication, quorum_status
from pokupai_lib.kafka.cluster import ensure_cluster_id, node_spec
from pokupai_lib.lab import status_frame


def test_three_brokers_are_up_with_the_persistent_cluster_id(lab: Lab) -> None:
    cfg = lab.cfg
    summary = describe_cluster(cfg)
    assert summary.brokers["broker_id"].tolist() == [1, 2, 3]
    assert summary.brokers["port"].tolist() == [9093, 9095, 9097]
    assert summary.cluster_id == ensure_cluster_id(cfg, "primary")


def test_the_controller_quorum_has_three_voters_and_one_leader(lab: Lab) -> None:
    cfg = lab.cfg
    status = quorum_status(cfg)
    assert status["ClusterId"] == ensure_cluster_id(cfg, "primary")
    replication = quorum_replication(cfg)
    assert sorted(replication["NodeId"]) == [1, 2, 3]
    assert (replication["Status"] == "Leader").sum() == 1
    assert int(status["LeaderId"]) in {1, 2, 3}


def test_starting_a_running_cluster_is_a_no_op(lab: Lab) -> None:
    cfg, supervisor = lab.cfg, lab.supervisor
    pids = [supervisor.running_pid(n.name) for n in cfg.primary.nodes]
    for node in cfg.primary.nodes:
        assert supervisor.launch(node_spec(cfg, cfg.primary, node)) in pids
    assert [supervisor.running_pid(n.name) for n in cfg.primary.nodes] == pids


def test_status_table_shows_every_primary_node_healthy(lab: Lab) -> None:
    cfg = lab.cfg
    frame = status_frame(cfg).set_index("name")
    for node in cfg.primary.nodes:
        assert frame.loc[node.name, "state"] == "running"
        assert "handshake" in frame.loc[node.name, "health"]
        assert frame.loc[node.name, "health"].endswith("ok")
