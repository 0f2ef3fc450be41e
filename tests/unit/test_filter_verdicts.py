"""The filter's verdicts: which faults are the record's (dead letters) and which are not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from confluent_kafka.schema_registry.error import SchemaRegistryError

from pokupai_lib.bans.rules import BanList
from pokupai_lib.errors import RegistryUnavailable
from pokupai_lib.ingest.catalog import generate_catalog
from pokupai_lib.ingest.verdicts import (
    DeadLetter,
    Judge,
    SubjectSchemas,
    dead_letter_record,
    writer_schema_id,
)
from pokupai_lib.schema.product import schema_text


@dataclass
class Record:
    """The parts of a consumed message the judge reads."""

    _value: bytes | None
    _key: bytes | None = b"p-1"

    def value(self) -> bytes | None:
        return self._value

    def key(self) -> bytes | None:
        return self._key

    def topic(self) -> str:
        return "shop-raw"

    def partition(self) -> int:
        return 2

    def offset(self) -> int:
        return 41


def _product(**changes: Any) -> dict[str, Any]:
    return {**generate_catalog(1, seed=3).products[0], **changes}


def _judge(decoded: Any = None, error: Exception | None = None, limit: int = 950_000) -> Judge:
    def deserialize(_raw: bytes, _ctx: object) -> Any:
        if error is not None:
            raise error
        return decoded

    bans = BanList()
    bans.add("контрафакт", "word")
    return Judge(deserialize, bans, limit)  # type: ignore[arg-type]


def test_a_valid_product_passes_as_json_with_filtered_at() -> None:
    verdict = _judge(_product()).judge(b"p-1", b"avro", "2026-01-01T00:00:00.000+00:00")
    assert verdict.passed and verdict.dead_letter is None
    assert orjson.loads(verdict.value or b"")["filtered_at"].startswith("2026-01-01")


def test_a_product_written_with_schema_v2_passes_with_its_new_field() -> None:
    verdict = _judge(_product(discount_percent=15)).judge(b"p-1", b"avro", "now")
    assert verdict.dead_letter is None
    assert orjson.loads(verdict.value or b"")["discount_percent"] == 15


def test_a_banned_product_is_banned_not_passed_and_keeps_its_version() -> None:
    verdict = _judge(_product(name="Контрафакт часы")).judge(b"p-1", b"avro", "now")
    assert [(m.rule, m.term, m.field) for m in verdict.banned] == [
        ("word", "контрафакт", "name")]
    assert not verdict.passed
    assert orjson.loads(verdict.value or b"")["name"] == "Контрафакт часы"
    assert "часы" in verdict.words


def test_a_product_too_large_as_json_is_dead_lettered_with_its_size() -> None:
    verdict = _judge(_product(description="д" * 600), limit=1_000).judge(b"p-1", b"avro", "now")
    assert verdict.dead_letter is not None
    assert verdict.dead_letter.error_type == "too-large"
    assert "1,000 bytes" in verdict.dead_letter.message


@pytest.mark.parametrize(("error", "kind"), [
    (SchemaRegistryError(404, 40403, "Schema not found"), "unknown-schema"),
    (ValueError("Unexpected magic byte"), "not-avro"),
    (EOFError(), "not-avro"),
])
def test_faults_of_the_bytes_are_dead_letters(error: Exception, kind: str) -> None:
    verdict = _judge(error=error).judge(b"p-1", b"\x00garbage", "now")
    assert verdict.dead_letter is not None and verdict.dead_letter.error_type == kind


@pytest.mark.parametrize("error", [
    SchemaRegistryError(503, -1, "unavailable"), SchemaRegistryError(500, 50001, "boom"),
    httpx.ConnectError("connection refused"), httpx.ReadTimeout("slow"),
    ConnectionResetError("reset by peer"),
])
def test_registry_faults_are_not_dead_letters(error: Exception) -> None:
    with pytest.raises(RegistryUnavailable):
        _judge(error=error).judge(b"p-1", b"\x00avro", "now")


class BrokenBans(BanList):
    def assess(self, product: Any) -> Any:
        raise KeyError("name")


def test_wrong_types_and_exceptions_while_judging_are_dead_letters() -> None:
    judge = _judge(_product())
    judge.bans = BrokenBans()
    broken = judge.judge(b"p-1", b"avro", "now")
    assert broken.dead_letter == DeadLetter("judge-error", "KeyError: 'name'")
    missing = _judge({"product_id": "1"}).judge(b"p-1", b"avro", "now")
    assert missing.dead_letter is not None
    assert missing.dead_letter.error_type == "invalid-product"
    odd = _judge(["not", "a", "record"]).judge(b"p-1", b"avro", "now")
    assert odd.dead_letter is not None and odd.dead_letter.error_type == "not-a-product"


def test_a_tombstone_with_a_key_delists_and_one_without_is_dead_lettered() -> None:
    verdict = _judge(_product()).judge(b"p-1", None, "now")
    assert verdict.delisted and verdict.dead_letter is None and not verdict.passed
    keyless = _judge(_product()).judge(None, None, "now")
    assert keyless.dead_letter == DeadLetter("tombstone",
                                             "shop-raw record has neither key nor value")


def test_a_dead_letter_carries_the_source_and_a_bounded_prefix_of_a_large_value() -> None:
    value, headers = dead_letter_record(Record(b"x" * 5000), DeadLetter("too-large", "big"),
                                        max_value_bytes=1000)
    named = dict(headers)
    assert value == b"x" * 1000
    assert named["original.size"] == "5000" and named["original.truncated"] == "true"
    assert (named["source.topic"], named["source.partition"], named["source.offset"]) == (
        "shop-raw", "2", "41")
    small, small_headers = dead_letter_record(Record(b"abc"), DeadLetter("not-avro", "x"), 1000)
    assert small == b"abc" and "original.size" not in dict(small_headers)


class FakeRegistry:
    """Versions of one subject (each the product schema, or the text given for its id), and
    how often they were asked for."""

    def __init__(self, ids: list[int], texts: dict[int, str] | None = None) -> None:
        self.ids = ids
        self.texts = texts or {}
        self.asked = 0

    def get_schema(self, schema_id: int) -> Any:
        return type("Schema", (), {"schema_str": self.texts.get(schema_id, schema_text())})()

    def get_versions(self, _subject: str) -> list[int]:
        self.asked += 1
        return list(range(1, len(self.ids) + 1))

    def get_version(self, _subject: str, version: int) -> Any:
        return type("Registered", (), {"schema_id": self.ids[version - 1]})()


def _wire(schema_id: int) -> bytes:
    return b"\x00" + schema_id.to_bytes(4, "big") + b"payload"


def test_a_record_of_another_subjects_schema_is_dead_lettered() -> None:
    registry = FakeRegistry([11, 12])
    judge = _judge(_product())
    judge.subject = SubjectSchemas(registry, "shop-raw-value")  # type: ignore[arg-type]
    assert judge.judge(b"p-1", _wire(12), "now").passed
    wrong = judge.judge(b"p-1", _wire(99), "now").dead_letter
    assert wrong == DeadLetter("wrong-schema", "schema id 99 is not a version of shop-raw-value")
    asked = registry.asked
    judge.judge(b"p-1", _wire(99), "now")
    assert registry.asked == asked  # the refusal is remembered, not asked again


def test_a_version_registered_after_start_is_found_by_asking_again() -> None:
    registry = FakeRegistry([11])
    schemas = SubjectSchemas(registry, "shop-raw-value")  # type: ignore[arg-type]
    assert schemas.holds(11)
    registry.ids.append(13)
    assert schemas.holds(13) and writer_schema_id(_wire(13)) == 13
    assert writer_schema_id(b"{json}") is None


def _version(change: Any) -> str:
    schema = orjson.loads(schema_text())
    change(schema["fields"])
    return orjson.dumps(schema).decode()


def test_a_version_that_only_adds_fields_gets_the_semantic_checks_and_keeps_its_fields() -> None:
    added = _version(lambda fields: fields.append(
        {"name": "discount_percent", "type": "int", "default": 0}))
    judge = _judge(_product(discount_percent=15))
    judge.subject = SubjectSchemas(FakeRegistry([11], {11: added}), "shop-raw-value")  # type: ignore[arg-type]
    verdict = judge.judge(b"p-1", _wire(11), "now")
    assert verdict.passed and orjson.loads(verdict.value or b"")["discount_percent"] == 15
    judge.deserializer = lambda _raw, _ctx: _product(discount_percent=15, name=" ")
    blank = judge.judge(b"p-1", _wire(11), "now").dead_letter
    assert blank == DeadLetter("invalid-product", "name: must not be empty")
    assert judge.subject.typed == {11: True}  # asked once


def test_a_version_that_retypes_a_field_gets_the_full_check() -> None:
    def retype(fields: list[dict[str, Any]]) -> None:
        next(f for f in fields if f["name"] == "stock")["type"] = "string"
    judge = _judge(_product(stock="many"))
    judge.subject = SubjectSchemas(FakeRegistry([11], {11: _version(retype)}),  # type: ignore[arg-type]
                                   "shop-raw-value")
    wrong = judge.judge(b"p-1", _wire(11), "now").dead_letter
    assert wrong is not None and wrong.error_type == "invalid-product"
    assert wrong.message.startswith("stock: wrong type")


def test_a_record_of_another_subject_that_lacks_our_fields_says_which_are_missing() -> None:
    judge = _judge({"product_id": "legacy-01"})
    judge.subject = SubjectSchemas(FakeRegistry([11]), "shop-raw-value")  # type: ignore[arg-type]
    letter = judge.judge(b"p-1", _wire(99), "now").dead_letter
    assert letter is not None and letter.error_type == "invalid-product"
    assert "name: missing required field" in letter.message
