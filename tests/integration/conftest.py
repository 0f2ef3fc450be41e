"""Integration fixtures: the real primary cluster, reused when running, started otherwise."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from pokupai_lib.bans.topic import BanTopic
from pokupai_lib.config import LabConfig, load_config
from pokupai_lib.ingest.catalog import DEFAULT_BANNED_WORDS
from pokupai_lib.ingest.checks import wait_for_filter_bans
from pokupai_lib.kafka.acls import ensure_acls, primary_grants
from pokupai_lib.kafka.clients import admin_client
from pokupai_lib.kafka.cluster import start_cluster
from pokupai_lib.kafka.topics import ensure_topics
from pokupai_lib.lab import bootstrap, lab_supervisor, up_platform


@pytest.fixture(scope="session")
def cfg() -> LabConfig:
    """The lab with its primary cluster up and the design's topics and ACLs in place."""
    config = load_config()
    bootstrap(config)
    start_cluster(config, "primary", lab_supervisor(config))
    admin = admin_client(config)
    ensure_topics(admin, config.topics.specs())
    ensure_acls(admin, primary_grants(config))
    return config


@pytest.fixture(scope="session")
def platform(cfg: LabConfig) -> LabConfig:
    """The whole platform running: both clusters, pipeline, MirrorMaker 2, Elasticsearch,
    Connect with the products sink, and the client API, with the MVP's ban words in place
    (so no product carrying one is let through while the tests publish)."""
    up_platform(cfg)
    bans = BanTopic(cfg, principal="admin")
    for word in DEFAULT_BANNED_WORDS:
        bans.add(word, "word", "integration tests")
    wait_for_filter_bans(cfg)
    return cfg


@pytest.fixture(scope="session")
def admin(cfg: LabConfig) -> AdminClient:
    return admin_client(cfg)


@pytest.fixture
def fresh_topic(admin: AdminClient) -> Iterator[Callable[..., str]]:
    """A factory of uniquely named RF 3, min ISR 2 topics, deleted after the test."""
    made: list[str] = []

    def make(partitions: int = 1) -> str:
        name = f"it-{uuid.uuid4().hex[:10]}"
        admin.create_topics([NewTopic(name, partitions, 3, config={
            "min.insync.replicas": "2"})])[name].result()
        made.append(name)
        return name

    yield make
    if made:
        for future in admin.delete_topics(made).values():
            future.result()
