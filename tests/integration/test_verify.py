"""``pokupai verify`` and ``pokupai dlq replay`` against the real platform (issue 11)."""

from __future__ import annotations

import random
import uuid

from confluent_kafka import Producer
from lab_fixture import Lab

from pokupai_lib.config import LabConfig
from pokupai_lib.dlq.replay import replay_dead_letters
from pokupai_lib.ingest.checks import prepare_shop_files
from pokupai_lib.ingest.publisher import publish_files
from pokupai_lib.kafka.clients import client_config
from pokupai_lib.kafka.topic_reader import read_range
from pokupai_lib.verify.checks import verify


def _first_id() -> int:
    return random.randint(100_000_000, 900_000_000)  # noqa: S311 - test data


def test_published_products_reach_every_stage_and_verify_agrees(lab: Lab) -> None:
    cfg = lab.cfg
    catalog, paths = prepare_shop_files(cfg, 50, seed=1101, first_id=_first_id(),
                                        with_bad_lines=False)
    publish_files(cfg, paths, progress=False)
    report = verify(cfg, wait_s=cfg.timeouts.catch_up_s)
    assert report.ok, report.summary()
    allowed = {p["product_id"] for p in catalog.products} - set(catalog.banned_ids)
    assert report.stage(cfg.topics.shop_clear).records >= len(allowed)


def _write_mirrored(cfg: LabConfig, key: str, value: bytes | None) -> None:
    """Write straight to the mirrored topic on the secondary, behind the filter's back."""
    producer = Producer(client_config(cfg, cfg.mirror.target, "admin", acks="all"))
    producer.produce(cfg.mirror.remote_topic(cfg.topics.shop_clear), value, key.encode())
    assert producer.flush(30) == 0


def test_verify_finds_a_product_that_only_the_secondary_holds(lab: Lab) -> None:
    cfg = lab.cfg
    key = f"stray-{uuid.uuid4().hex[:8]}"
    mirror = cfg.mirror.remote_topic(cfg.topics.shop_clear)
    _write_mirrored(cfg, key, f'{{"product_id": "{key}", "name": "Лишний товар", '
                              f'"category": "Книги"}}'.encode())
    try:
        report = verify(cfg)  # one look: the write is visible at once, and stays wrong
        assert not report.ok
        assert key in report.stage(mirror).extra
    finally:
        _write_mirrored(cfg, key, None)
    report = verify(cfg, wait_s=cfg.timeouts.catch_up_s)
    assert report.ok, report.summary()


def test_a_dead_letter_is_redriven_to_its_original_topic_once(lab: Lab) -> None:
    # Fresh topics stand in for shop-dlq and shop-raw, so the lab's own letters stay put.
    dlq, original = lab.fresh_topic(), lab.fresh_topic()
    cfg = lab.cfg.model_copy(update={
        "topics": lab.cfg.topics.model_copy(update={"shop_dlq": dlq})})
    key = f"fixed-{uuid.uuid4().hex[:8]}".encode()
    headers = [("error.type", "not-avro"), ("error.message", "was broken"),
               ("source.topic", original), ("source.partition", "0"), ("source.offset", "0"),
               ("trace-id", "t-1")]
    producer = lab.producer(acks="all")
    producer.produce(dlq, b"the fixed value", key, headers=headers)
    producer.produce(dlq, b"cut", b"too-big", headers=[
        ("source.topic", original), ("original.size", "2000000"),
        ("original.truncated", "true")])
    assert producer.flush(30) == 0

    dry = replay_dead_letters(cfg, dlq, dry_run=True)
    assert (dry.letters, dict(dry.redriven)) == (2, {original: 1})
    assert read_range(cfg, original) == []

    first = replay_dead_letters(cfg, dlq)
    assert (first.letters, dict(first.redriven), sum(first.skipped.values())) == (
        2, {original: 1}, 1)
    second = replay_dead_letters(cfg, dlq)
    assert (second.letters, sum(second.redriven.values())) == (0, 0)

    records = read_range(cfg, original)
    assert [(r.partition, r.key, r.value, r.headers) for r in records] == [
        (0, key, b"the fixed value", {"trace-id": "t-1"})]
