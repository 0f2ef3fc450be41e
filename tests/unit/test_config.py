from __future__ import annotations

import pytest

from pokupai_lib.config import LabConfig, load_config


def test_every_port_is_distinct() -> None:
    cfg = LabConfig()
    ports = [p for c in (cfg.primary, cfg.secondary) for n in c.nodes
             for p in (n.broker_port, n.controller_port)]
    assert len(ports) == len(set(ports)) == 12


def test_ports_follow_the_design() -> None:
    cfg = LabConfig()
    assert cfg.primary.bootstrap_servers == "localhost:9093,localhost:9095,localhost:9097"
    assert [n.controller_port for n in cfg.secondary.nodes] == [9393, 9395, 9397]
    assert cfg.primary.quorum_voters == "1@localhost:9193,2@localhost:9195,3@localhost:9197"
    assert [n.name for n in cfg.secondary.nodes] == ["kafka-4", "kafka-5", "kafka-6"]


def test_super_users_are_the_brokers_and_admin_only() -> None:
    assert LabConfig().super_users == (
        "User:CN=kafka-1", "User:CN=kafka-2", "User:CN=kafka-3", "User:CN=kafka-4",
        "User:CN=kafka-5", "User:CN=kafka-6", "User:CN=admin")


def test_primary_topics_are_rf3_min_isr_2_and_ban_words_compacted() -> None:
    specs = {s.name: s for s in LabConfig().topics.specs()}
    assert set(specs) == {"shop-raw", "shop-clear", "ban-words", "shop-dlq", "client-searches"}
    assert all(s.partitions == 3 and s.replication_factor == 3 for s in specs.values())
    assert all(s.configs["min.insync.replicas"] == "2" for s in specs.values())
    assert specs["ban-words"].configs["cleanup.policy"] == "compact"
    assert specs["shop-raw"].configs["cleanup.policy"] == "delete"


def test_environment_overrides_a_nested_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_PRIMARY__HEAP_MB", "768")
    monkeypatch.setenv("LAB_PROFILE", "docker")
    cfg = LabConfig()
    assert cfg.primary.heap_mb == 768
    assert cfg.profile == "docker"


def test_unknown_profile_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_PROFILE", "cloud")
    with pytest.raises(ValueError, match="profile"):
        LabConfig()


def test_load_config_is_loaded_once() -> None:
    assert load_config() is load_config()


def test_node_lookup_names_the_cluster() -> None:
    with pytest.raises(KeyError, match="primary has no node 4"):
        LabConfig().primary.node(4)
