from __future__ import annotations

import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from pokupai_lib import lab
from pokupai_lib.bans.client import BanApiClient
from pokupai_lib.client_api.client import ClientApiClient
from pokupai_lib.config import LabConfig, LabPaths, load_config
from pokupai_lib.errors import ConfigError, LabError, LabTimeoutError, ProfileUnavailableError
from pokupai_lib.kafka.cluster import node_properties
from pokupai_lib.mirroring.mirror_maker import mirror_properties
from pokupai_lib.runtime import profiles
from pokupai_lib.search.connect import wait_until_running, worker_properties


@pytest.fixture
def fresh_load_config() -> Iterator[None]:
    """load_config reads the environment afresh in the test and is cleared again after it."""
    load_config.cache_clear()
    yield
    load_config.cache_clear()


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


def test_primary_topics_are_rf3_min_isr_2_and_state_topics_compacted() -> None:
    specs = {s.name: s for s in LabConfig().topics.specs()}
    assert set(specs) == {"shop-raw", "shop-clear", "ban-words", "shop-dlq", "shop-moderation",
                          "client-searches"}
    assert all(s.partitions == 3 and s.replication_factor == 3 for s in specs.values())
    assert all(s.configs["min.insync.replicas"] == "2" for s in specs.values())
    assert specs["ban-words"].configs["cleanup.policy"] == "compact"
    assert specs["shop-moderation"].configs["cleanup.policy"] == "compact"
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


def test_the_config_and_its_parts_are_frozen() -> None:
    cfg = LabConfig()
    with pytest.raises(ValidationError, match="frozen"):
        cfg.profile = "docker"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        cfg.primary.heap_mb = 1024  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        cfg.primary.nodes[0].broker_port = 1  # type: ignore[misc]
    assert isinstance(cfg.primary.nodes, tuple)


def test_a_changed_copy_leaves_the_original_alone() -> None:
    cfg = LabConfig()
    bigger = cfg.model_copy(update={"primary": cfg.primary.model_copy(update={"heap_mb": 1024})})
    assert (bigger.primary.heap_mb, cfg.primary.heap_mb) == (1024, 512)


@pytest.mark.usefixtures("fresh_load_config")
def test_load_config_takes_the_profile_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAB_PROFILE", raising=False)
    assert load_config().profile == "local"
    assert load_config(profile="docker").profile == "docker"
    assert load_config(profile="local").profile == "local"


@pytest.mark.usefixtures("fresh_load_config")
def test_load_config_takes_the_profile_from_lab_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_PROFILE", "docker")
    assert load_config().profile == "docker"
    assert load_config(profile="local").profile == "local"  # the notebook's parameter wins


@pytest.mark.usefixtures("fresh_load_config")
def test_an_unknown_profile_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"unknown profile 'cloud': choose one of local, docker"):
        load_config(profile="cloud")
    monkeypatch.setenv("LAB_PROFILE", "cloud")
    with pytest.raises(ConfigError, match="profile is one of local, docker"):
        load_config()


def test_ksqldb_is_the_docker_profiles_container_unless_a_url_is_set() -> None:
    assert LabConfig(profile="local").ksqldb_url is None
    assert LabConfig(profile="docker").ksqldb_url == "http://localhost:8088"
    assert LabConfig(profile="local", ksqldb={"url": "http://ksql:8088"}).ksqldb_url == (
        "http://ksql:8088")


def test_the_local_profile_does_not_ask_for_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_docker(*_a: object, **_k: object) -> None:
        raise AssertionError("docker was asked for in the local profile")

    monkeypatch.setattr(profiles, "docker_engine_problem", no_docker)
    profiles.require_profile(LabConfig(profile="local"))


def test_docker_profile_without_a_docker_command_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profiles.shutil, "which", lambda _name: None)
    with pytest.raises(ProfileUnavailableError, match=r"needs a Docker engine.*not on PATH"):
        profiles.require_profile(LabConfig(profile="docker"))


def test_docker_profile_without_an_engine_is_refused_by_bootstrap(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profiles.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(profiles.subprocess, "run", lambda *_a, **_k: subprocess.CompletedProcess(
        [], 1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n"))

    def must_not_run() -> None:
        raise AssertionError("bootstrap went on without a Docker engine")

    monkeypatch.setattr(lab, "find_problems", must_not_run)
    with pytest.raises(LabError, match="Cannot connect to the Docker daemon"):
        lab.bootstrap(LabConfig(profile="docker"))


def test_docker_profile_with_an_engine_passes_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profiles.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(profiles.subprocess, "run",
                        lambda *_a, **_k: subprocess.CompletedProcess([], 0, "29.1.2\n", ""))
    profiles.require_profile(LabConfig(profile="docker"))


def test_one_topic_layout_sets_every_replication_factor_and_min_isr(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAB_TOPICS__LAYOUT__REPLICATION_FACTOR", "1")
    monkeypatch.setenv("LAB_TOPICS__LAYOUT__MIN_INSYNC_REPLICAS", "1")
    cfg = LabConfig(paths=LabPaths(root=tmp_path))
    specs = [*cfg.topics.specs(), *cfg.recommender.topic_specs(cfg.topics.layout)]
    assert {(s.replication_factor, s.configs["min.insync.replicas"]) for s in specs} == {(1, "1")}
    broker = node_properties(cfg, cfg.primary, cfg.primary.nodes[0])
    worker, mirror = worker_properties(cfg), mirror_properties(cfg)
    every = [value for props in (broker, worker, mirror) for key, value in props.items()
             if key.endswith(("replication.factor", "min.isr", "min.insync.replicas"))]
    assert len(every) == 7 + 3 + 7  # the broker's, Connect's and MirrorMaker 2's
    assert set(every) == {"1"}


def test_the_lab_http_clients_wait_as_long_as_the_config_says(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert LabConfig().timeouts.http_s == 15.0
    monkeypatch.setenv("LAB_TIMEOUTS__HTTP_S", "4.5")
    cfg = LabConfig()
    assert ClientApiClient(cfg).http.timeout.read == 4.5
    assert ClientApiClient(cfg, timeout_s=2.0).http.timeout.read == 2.0
    assert BanApiClient(cfg, credential=None).http.timeout.read == 4.5


def test_messages_name_the_log_under_the_configured_state_dir(tmp_cfg: LabConfig) -> None:
    assert tmp_cfg.paths.log("filter") == tmp_cfg.paths.root / ".lab" / "logs" / "filter.log"
    with socket.socket() as unused:  # a port nothing listens on: no Connect answers there
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    cfg = tmp_cfg.model_copy(update={"connect": tmp_cfg.connect.model_copy(update={"port": port})})
    with pytest.raises(LabTimeoutError, match=re.escape(str(cfg.paths.log("kafka-connect")))):
        wait_until_running(cfg, "products-es-sink", timeout_s=0)
