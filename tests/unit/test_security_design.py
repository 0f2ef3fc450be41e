"""The broker configuration and the ACL design, checked without a cluster."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AclOperation

from pokupai_lib.config import ClusterName, LabConfig
from pokupai_lib.kafka.acls import designed_acls, grants_for, primary_grants, secondary_grants
from pokupai_lib.kafka.cluster import node_properties


def test_every_listener_is_mutual_tls_and_acls_are_enforced(tmp_cfg: LabConfig) -> None:
    props = node_properties(tmp_cfg, tmp_cfg.primary, tmp_cfg.primary.nodes[0])
    assert "PLAINTEXT" not in props["listener.security.protocol.map"]
    assert props["listener.security.protocol.map"] == "SSL:SSL,CONTROLLER:SSL"
    assert props["listeners"] == "SSL://localhost:9093,CONTROLLER://localhost:9193"
    assert props["ssl.client.auth"] == "required"
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"].split(";") == list(tmp_cfg.super_users)
    assert props["ssl.keystore.location"].endswith("kafka-1.p12")


def test_durability_defaults(tmp_cfg: LabConfig) -> None:
    props = node_properties(tmp_cfg, tmp_cfg.secondary, tmp_cfg.secondary.nodes[2])
    assert props["node.id"] == "6"
    assert props["default.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    assert props["unclean.leader.election.enable"] == "false"
    assert props["auto.create.topics.enable"] == "false"
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["transaction.state.log.min.isr"] == "2"


@pytest.mark.parametrize("cluster", ["primary", "secondary"])
def test_grants_are_literal_or_prefixed_and_never_all_or_wildcard(cluster: ClusterName) -> None:
    bindings = designed_acls(grants_for(LabConfig(), cluster)).values()
    assert bindings
    assert all(b.name != "*" for b in bindings)
    assert all(b.operation != AclOperation.ALL for b in bindings)
    assert {b.resource_pattern_type.name for b in bindings} <= {"LITERAL", "PREFIXED"}


def test_intruder_and_secondary_only_principals_have_no_primary_grant() -> None:
    principals = {g.principal for g in primary_grants(LabConfig())}
    assert principals == {"shop-publisher", "banwords-api", "filter", "client-api", "mirror"}


def test_each_principal_gets_only_its_own_topics() -> None:
    grants = primary_grants(LabConfig())
    topics_of = {p: {g.name for g in grants if g.principal == p and g.resource_type.name == "TOPIC"}
                 for p in ("shop-publisher", "client-api", "filter")}
    assert topics_of["shop-publisher"] == {"shop-raw"}
    assert topics_of["client-api"] == {"client-searches"}
    assert topics_of["filter"] == {"shop-raw", "ban-words", "shop-clear", "shop-dlq",
                                   "shop-moderation"}
    publisher_ops = {op.name for g in grants if g.principal == "shop-publisher"
                     for op in g.operations}
    assert publisher_ops == {"WRITE", "DESCRIBE"}


def test_secondary_grants_stay_within_each_principals_names() -> None:
    cfg = LabConfig()
    grants = secondary_grants(cfg)
    assert {g.principal for g in grants} == {"mirror", "connect", "client-api", "recommender"}
    client_api = {(g.name, tuple(op.name for op in g.operations))
                  for g in grants if g.principal == "client-api"}
    assert client_api == {("SEARCHES_WITH_PRODUCTS", ("READ", "DESCRIBE"))}
    connect_topics = {(g.name, g.pattern.name) for g in grants
                      if g.principal == "connect" and g.resource_type.name == "TOPIC"}
    assert connect_topics == {("primary.shop-clear", "LITERAL"), ("connect-", "PREFIXED")}
    connect_reads = {op.name for g in grants if g.principal == "connect"
                     and g.name == "primary.shop-clear" for op in g.operations}
    assert connect_reads == {"READ", "DESCRIBE"}
    mirror_names = {g.name for g in grants if g.principal == "mirror"}
    assert mirror_names == {"primary.", "mm2-", "heartbeats", "primary-mm2",
                            "connect-cluster-primary-mm2", "primary-mm2-"}
    mirror_txn = {(g.name, g.pattern.name, tuple(op.name for op in g.operations))
                  for g in grants if g.principal == "mirror"
                  and g.resource_type.name == "TRANSACTIONAL_ID"}
    assert mirror_txn == {("connect-cluster-primary-mm2", "LITERAL", ("WRITE", "DESCRIBE")),
                          ("primary-mm2-", "PREFIXED", ("WRITE", "DESCRIBE"))}
    assert all((c.prefix and g.name.startswith(c.prefix)) or g.principal != "connect"
               or g.name == "primary.shop-clear"
               for c in [cfg.connect] for g in grants)


def test_the_recommender_reads_its_inputs_writes_its_outputs_and_owns_only_its_prefixes() -> None:
    cfg = LabConfig()
    grants = [g for g in secondary_grants(cfg) if g.principal == "recommender"]
    by_name = {(g.resource_type.name, g.name, g.pattern.name): {op.name for op in g.operations}
               for g in grants}
    reads = {"READ", "DESCRIBE", "DESCRIBE_CONFIGS"}
    writes = {"WRITE", "DESCRIBE", "DESCRIBE_CONFIGS"}
    assert by_name == {
        ("TOPIC", "primary.shop-clear", "LITERAL"): reads,
        ("TOPIC", "primary.client-searches", "LITERAL"): reads,
        ("TOPIC", "products_by_category", "LITERAL"): writes,
        ("TOPIC", "SEARCHES_WITH_PRODUCTS", "LITERAL"): writes,
        ("TOPIC", "recommender-dlq", "LITERAL"): writes,
        ("TOPIC", "changelog__recommender-v2--", "PREFIXED"): {"CREATE", *reads, "WRITE"},
        ("TOPIC", "repartition__recommender-v2--", "PREFIXED"): {"CREATE", *reads, "WRITE"},
        ("GROUP", "recommender-v2", "LITERAL"): {"READ", "DESCRIBE"},
        ("TRANSACTIONAL_ID", "recommender-v2-0", "LITERAL"): {"WRITE", "DESCRIBE"},
    }
    hops = (cfg.recommender.term_hop, cfg.recommender.category_hop)
    assert all(hop.startswith("repartition__recommender-v2--") for hop in hops)


def test_the_ban_api_owns_its_topic_group_prefix_and_literal_transactional_id() -> None:
    cfg = LabConfig()
    grants = [g for g in primary_grants(cfg) if g.principal == "banwords-api"]
    by_name = {(g.resource_type.name, g.name, g.pattern.name): {op.name for op in g.operations}
               for g in grants}
    assert by_name == {
        ("TOPIC", "ban-words", "LITERAL"): {"READ", "WRITE", "DESCRIBE"},
        ("GROUP", "banwords-api", "PREFIXED"): {"READ"},
        ("TRANSACTIONAL_ID", "banwords-api", "LITERAL"): {"WRITE", "DESCRIBE"},
    }
    assert cfg.ban_api.transactional_id == "banwords-api"
