"""MirrorMaker 2 and Kafka Connect configuration as the design asks (no services)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import ConnectorError
from pokupai_lib.mirroring.mirror_maker import mirror_properties
from pokupai_lib.search.connect import connector_config, sink_config_file, worker_properties


def test_mirror_maker_copies_the_two_topics_one_way_with_rf3_and_mtls(tmp_cfg: LabConfig
                                                                     ) -> None:
    props = mirror_properties(tmp_cfg)
    assert props["primary->secondary.enabled"] == "true"
    assert props["secondary->primary.enabled"] == "false"
    assert props["primary->secondary.topics"].split(",") == ["shop-clear", "client-searches"]
    assert all(props[key] == "3" for key in props if key.endswith("replication.factor"))
    assert props["emit.checkpoints.enabled"] == props["emit.heartbeats.enabled"] == "true"
    assert props["primary.consumer.isolation.level"] == "read_committed"
    # exactly-once source support is a worker setting: dedicated mode takes it with the target
    # cluster's prefix (a bare worker key such as offset.flush.interval.ms is ignored)
    assert props["secondary.exactly.once.source.support"] == "enabled"
    assert props["secondary.producer.transaction.timeout.ms"] == "10000"
    # a connector setting: with the flow's prefix, a transaction per interval, not per poll
    assert props["primary->secondary.transaction.boundary"] == "interval"
    assert props["primary->secondary.transaction.boundary.interval.ms"] == "250"
    assert not any(key.startswith("offset.flush") for key in props)
    for cluster in ("primary", "secondary"):
        assert props[f"{cluster}.security.protocol"] == "SSL"
        assert props[f"{cluster}.ssl.keystore.location"].endswith("mirror.p12")


def test_connect_worker_and_every_client_it_makes_use_mtls_as_connect(tmp_cfg: LabConfig
                                                                     ) -> None:
    props = worker_properties(tmp_cfg)
    for prefix in ("", "producer.", "consumer.", "admin."):
        assert props[f"{prefix}security.protocol"] == "SSL"
        assert props[f"{prefix}ssl.keystore.location"].endswith("connect.p12")
    internal = [props[f"{kind}.storage.topic"] for kind in ("config", "offset", "status")]
    assert all(topic.startswith(tmp_cfg.connect.prefix) for topic in internal)
    assert props["group.id"].startswith(tmp_cfg.connect.prefix)
    assert all(props[f"{kind}.storage.replication.factor"] == "3"
               for kind in ("config", "offset", "status"))
    assert props["listeners"] == "http://127.0.0.1:8083"
    # the mirror is written in transactions: the sink reads committed copies only
    assert props["consumer.isolation.level"] == "read_committed"


def test_sink_config_is_filled_from_the_one_config() -> None:
    cfg = LabConfig()
    config = connector_config(cfg, sink_config_file(cfg))
    assert config["topics"] == "primary.shop-clear"
    assert config["errors.tolerance"] == "all"
    assert config["errors.deadletterqueue.topic.name"].startswith(cfg.connect.prefix)
    assert config["connector.class"] == "lab.pokupai.connect.es.ElasticsearchSinkConnector"
    assert config["es.urls"] == "http://127.0.0.1:9200"
    assert config["es.index"] == "products"
    assert not any(key.startswith("_") for key in config)
    assert not any("$" in value for value in config.values())


def test_an_unknown_placeholder_names_itself(tmp_path: Path) -> None:
    template = tmp_path / "bad.json"
    template.write_text(json.dumps({"topics": "${no_such_thing}"}))
    with pytest.raises(ConnectorError, match="no_such_thing"):
        connector_config(LabConfig(), template)
