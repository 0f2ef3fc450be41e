"""The stages compared record by record, without Kafka or Elasticsearch."""

from __future__ import annotations

import json

import orjson
import pytest

from pokupai_lib.config import LabConfig
from pokupai_lib.kafka.topic_reader import Record
from pokupai_lib.verify import checks
from pokupai_lib.verify.checks import VerifyReport, verify
from pokupai_lib.verify.compare import (
    StageDiff,
    compare_counts,
    compare_stage,
    content_digest,
    dead_lettered_keys,
    document_digest,
    expected_counts,
    latest_positions,
    latest_versions,
)


def _product(pid: str, name: str = "Чайник", category: str = "Дом и сад",
             **extra: object) -> dict[str, object]:
    return {"product_id": pid, "name": name, "category": category, **extra}


def _records(*items: tuple[str, dict[str, object] | bytes | None],
             partition: int = 0) -> list[Record]:
    """Records of one partition in order; a dict is written as JSON, None is a tombstone."""
    return [Record(partition, offset, key.encode(),
                   orjson.dumps(value) if isinstance(value, dict) else value, {}, 0)
            for offset, (key, value) in enumerate(items)]


def test_a_document_and_the_record_it_came_from_have_one_version() -> None:
    product = _product("1", price={"amount": 4999.99, "currency": "RUB"}, tags=["чай"])
    # the same content with other key order, spacing and escapes
    record_value = json.dumps(dict(reversed(product.items())), ensure_ascii=True,
                              indent=2).encode()
    assert content_digest(record_value) == document_digest(product)
    assert content_digest(record_value) != document_digest({**product, "name": "X"})


def test_a_value_that_is_not_json_is_versioned_by_its_bytes() -> None:
    assert content_digest(b"\x89PNG") == content_digest(b"\x89PNG")
    assert content_digest(b"\x89PNG") != content_digest(b"\x89PNGx")


def test_latest_versions_keep_each_keys_last_value_and_drop_tombstoned_keys() -> None:
    records = _records(("1", _product("1", "old")), ("2", _product("2")),
                       ("1", _product("1", "new")), ("2", None))
    assert latest_versions(records) == {"1": document_digest(_product("1", "new"))}
    assert latest_positions(records) == {"1": (0, 2), "2": (0, 3)}


def test_records_are_ordered_by_partition_and_offset_whatever_order_they_come_in() -> None:
    records = _records(("1", _product("1", "old")), ("1", _product("1", "new")))
    assert latest_versions(list(reversed(records))) == latest_versions(records)


def test_a_stage_holding_exactly_the_reference_is_ok() -> None:
    reference = {"1": "a", "2": "b"}
    diff = compare_stage("mirror", reference, dict(reference))
    assert diff == StageDiff("mirror", 2)
    assert diff.ok and diff.examples() == ""


def test_missing_extra_and_stale_keys_are_told_apart() -> None:
    diff = compare_stage("index", {"1": "a", "2": "b", "3": "c"}, {"2": "b", "3": "old", "9": "z"})
    assert (diff.records, diff.missing, diff.extra, diff.stale) == (3, ("1",), ("9",), ("3",))
    assert not diff.ok
    assert diff.examples() == "missing: 1; extra: 9; stale: 3"


def test_examples_show_a_few_keys_of_each_kind() -> None:
    diff = compare_stage("index", {str(n): "v" for n in range(10)}, {})
    assert diff.examples(per_kind=2) == "missing: 0, 1 …"


def test_keys_a_sink_dead_lettered_are_accounted_for_not_missing() -> None:
    mirrored = _records(("1", _product("1")), ("2", _product("2", "bad")), ("3", _product("3")))
    letters = {(0, 1)}
    excused = dead_lettered_keys(latest_positions(mirrored), letters)
    assert excused == {"2"}
    diff = compare_stage("index", latest_versions(mirrored),
                         {"1": document_digest(_product("1")),
                          "3": document_digest(_product("3"))}, excused)
    assert diff.ok and diff.dead_lettered == ("2",)


def test_a_dead_letter_of_an_older_version_excuses_nothing() -> None:
    mirrored = _records(("1", _product("1", "bad")), ("1", _product("1", "good")))
    assert dead_lettered_keys(latest_positions(mirrored), {(0, 0)}) == set()


def test_expected_counts_follow_the_recommender_over_the_history() -> None:
    records = _records(
        ("1", _product("1", category="Книги")),
        ("2", _product("2", category="Книги")),
        ("3", _product("3", category="Одежда")),
        ("2", _product("2", category="Одежда")),   # moved
        ("3", None),                               # gone
        ("1", b"{not json"),                       # dead-lettered: product 1 stays as it was
        ("4", _product("4", name="", category="Книги")),  # blank name: never joins
    )
    assert expected_counts(records) == {"Книги": 1, "Одежда": 1}


def test_category_counts_missing_extra_and_wrong() -> None:
    diff = compare_counts("products_by_category", {"Книги": 2, "Одежда": 1, "Чай": 4},
                          {"Книги": 2, "Одежда": 3, "Обувь": 1})
    assert (diff.records, diff.missing, diff.extra, diff.stale) == (
        3, ("Чай",), ("Обувь",), ("Одежда",))


def _report(ok: bool) -> VerifyReport:
    stale = () if ok else ("7",)
    return VerifyReport((StageDiff("shop-clear", 3), StageDiff("index products", 3, stale=stale)))


def test_a_report_is_ok_only_when_every_stage_is() -> None:
    assert _report(True).ok
    bad = _report(False)
    assert not bad.ok
    assert bad.stage("index products").stale == ("7",)
    assert list(bad.frame()["stale"]) == [0, 1]
    assert bad.summary().splitlines()[-1] == "NOT consistent: index products"
    with pytest.raises(KeyError, match="no stage"):
        bad.stage("nowhere")


def test_verify_waits_until_the_stages_agree(monkeypatch: pytest.MonkeyPatch,
                                             tmp_cfg: LabConfig) -> None:
    looks = iter([_report(False), _report(False), _report(True)])
    monkeypatch.setattr(checks, "stage_report", lambda _cfg, _stages: next(looks))
    assert verify(tmp_cfg, wait_s=5, every_s=0).ok


def test_verify_returns_the_last_report_when_the_wait_runs_out(
        monkeypatch: pytest.MonkeyPatch, tmp_cfg: LabConfig) -> None:
    monkeypatch.setattr(checks, "stage_report", lambda _cfg, _stages: _report(False))
    report = verify(tmp_cfg, wait_s=0.05, every_s=0.01)
    assert not report.ok and report.stage("index products").stale == ("7",)


def test_verify_without_a_wait_looks_once(monkeypatch: pytest.MonkeyPatch,
                                          tmp_cfg: LabConfig) -> None:
    calls: list[object] = []
    monkeypatch.setattr(checks, "stage_report",
                        lambda cfg, _stages: calls.append(cfg) or _report(False))
    assert not verify(tmp_cfg).ok
    assert len(calls) == 1


def test_only_the_stages_asked_for_are_read(monkeypatch: pytest.MonkeyPatch,
                                            tmp_cfg: LabConfig) -> None:
    read: list[str] = []
    monkeypatch.setattr(checks, "topic_records",
                        lambda _cfg, topic, *_cluster: read.append(topic) or [])

    def not_asked(*_args: object) -> None:
        raise AssertionError("a stage that was not asked for was read")
    monkeypatch.setattr(checks, "index_versions", not_asked)
    monkeypatch.setattr(checks, "category_counts", not_asked)
    report = checks.stage_report(tmp_cfg, ["mirror"])
    assert [s.stage for s in report.stages] == ["shop-clear", "primary.shop-clear"]
    assert read == ["shop-clear", "primary.shop-clear"] and report.ok


def test_an_unknown_stage_is_refused_by_name(tmp_cfg: LabConfig) -> None:
    with pytest.raises(ValueError, match="no stage mirrors; stages: mirror, index, categories"):
        checks.stage_report(tmp_cfg, ["mirrors"])
