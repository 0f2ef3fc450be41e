"""The publisher's reading and delivery accounting, with no broker and no registry."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import orjson
import pytest
from confluent_kafka import KafkaError, Producer
from typer.testing import CliRunner

from pokupai_lib import cli
from pokupai_lib.ingest.catalog import generate_products
from pokupai_lib.ingest.publisher import (
    DeliveryLedger,
    PublishProblem,
    PublishResult,
    read_shop_files,
    send_shop_files,
)


def _lines(count: int, seed: int = 7) -> list[bytes]:
    return [json.dumps(p, ensure_ascii=False).encode()
            for p in generate_products(count, seed=seed, banned_share=0.0)]


def _unreachable_producer(message_timeout_ms: int) -> Producer:
    """Nothing listens on port 1: every record stays queued until it times out."""
    quiet = logging.getLogger("tests.unreachable-producer")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    return Producer({"bootstrap.servers": "127.0.0.1:1", "logger": quiet,
                     "message.timeout.ms": message_timeout_ms})


def test_a_bad_utf8_line_and_a_bad_json_line_are_skipped_and_the_rest_is_read(
        tmp_path: Path) -> None:
    good = _lines(3)
    path = tmp_path / "store_x.jsonl"
    path.write_bytes(b"\n".join([good[0], b'{"name": "\xd0\x9f\xff"}', good[1],
                                 b'{"product_id": ', b"", good[2]]) + b"\n")
    rows = [(p.name, n, r is not None, e) for p, n, r, e in read_shop_files([path])]
    assert [(file, n, ok) for file, n, ok, _ in rows] == [
        ("store_x.jsonl", 1, True), ("store_x.jsonl", 2, False), ("store_x.jsonl", 3, True),
        ("store_x.jsonl", 4, False), ("store_x.jsonl", 6, True)]
    assert rows[1][3] == "not UTF-8: byte 0xff at byte 13"
    assert (rows[3][3] or "").startswith("not JSON: ")


def test_records_left_in_the_queue_after_the_flush_timeout_count_as_failed(
        tmp_path: Path) -> None:
    good = _lines(4)
    path = tmp_path / "store_y.jsonl"
    path.write_bytes(b"\n".join([good[0], b"\xc3\x28", good[1], b"[1,", good[2], good[3]]))
    result = send_shop_files(_unreachable_producer(60_000), "shop-raw", orjson.dumps, [path],
                             flush_timeout_s=0.3)
    assert (result.delivered, result.skipped, result.failed) == (0, 2, 4)
    assert [p.line for p in result.problems] == [2, 4, 1, 3, 5, 6]
    assert {p.reason for p in result.problems[2:]} == {"not delivered within 0.3 s"}
    assert result.undelivered_summary() == "4 records not delivered: not delivered within 0.3 s (4)"


def test_delivery_errors_before_the_flush_timeout_are_reported_with_their_reason(
        tmp_path: Path) -> None:
    path = tmp_path / "store_z.jsonl"
    path.write_bytes(b"\n".join(_lines(2)))
    result = send_shop_files(_unreachable_producer(200), "shop-raw", orjson.dumps, [path],
                             flush_timeout_s=10)
    assert (result.delivered, result.failed) == (0, 2)
    assert {(p.file, p.line) for p in result.problems} == {("store_z.jsonl", 1),
                                                           ("store_z.jsonl", 2)}
    assert all("timed out" in p.reason for p in result.problems)


def test_the_ledger_settles_each_record_once_and_gives_up_on_the_rest() -> None:
    result = PublishResult()
    ledger = DeliveryLedger(result)
    first, second, third, _fourth = (ledger.expect("a.jsonl", n) for n in (1, 2, 3, 4))
    first(None, None)
    second(KafkaError(KafkaError.NOT_ENOUGH_REPLICAS), None)
    ledger.expire("not delivered within 5 s")
    third(KafkaError(KafkaError._PURGE_QUEUE), None)
    assert ledger.pending == 1
    ledger.give_up("not delivered within 5 s")
    assert (result.delivered, result.sent, result.failed, ledger.pending) == (1, 1, 3, 0)
    assert [(p.line, p.reason) for p in result.problems] == [
        (2, KafkaError(KafkaError.NOT_ENOUGH_REPLICAS).str()),
        (3, "not delivered within 5 s"), (4, "not delivered within 5 s")]
    assert result.failure_reasons["not delivered within 5 s"] == 2


def test_publish_exits_1_with_one_line_when_records_were_not_delivered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    result = PublishResult(delivered=8, skipped=1, failed=2, seconds=1.0, problems=[
        PublishProblem("a.jsonl", 3, "not JSON: unexpected end at column 5"),
        PublishProblem("a.jsonl", 4, "not delivered within 60 s"),
        PublishProblem("a.jsonl", 5, "not delivered within 60 s")],
        failure_reasons=Counter({"not delivered within 60 s": 2}))
    monkeypatch.setattr(cli, "require_cluster", lambda *_a, **_k: None)
    monkeypatch.setattr(cli, "prepare_shop_files", lambda *_a, **_k: (None, []))
    monkeypatch.setattr(cli, "publish_files", lambda *_a, **_k: result)
    outcome = CliRunner().invoke(cli.app, ["publish", "--count", "10"])
    assert outcome.exit_code == 1
    errors = [line for line in outcome.output.splitlines() if line.startswith("error:")]
    assert errors == ["error: 2 records not delivered: not delivered within 60 s (2)"]


def test_publish_exits_0_when_only_invalid_lines_were_skipped(
        monkeypatch: pytest.MonkeyPatch) -> None:
    result = PublishResult(delivered=8, skipped=1, problems=[
        PublishProblem("a.jsonl", 3, "not JSON: unexpected end at column 5")])
    monkeypatch.setattr(cli, "require_cluster", lambda *_a, **_k: None)
    monkeypatch.setattr(cli, "prepare_shop_files", lambda *_a, **_k: (None, []))
    monkeypatch.setattr(cli, "publish_files", lambda *_a, **_k: result)
    assert CliRunner().invoke(cli.app, ["publish"]).exit_code == 0
