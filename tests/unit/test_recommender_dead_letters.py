"""Dead letters say why, where from and what, and always fit in a record themselves."""

from __future__ import annotations

import orjson

from pokupai_lib.recommendations.dead_letters import (
    VALUE_TOO_LARGE,
    RecordSource,
    input_dead_letter,
    oversize_dead_letter,
    serialized_value,
)

SOURCE = RecordSource("primary.shop-clear", 2, 41)


def test_an_input_letter_names_the_exception_the_source_and_carries_the_value() -> None:
    letter = input_dead_letter(TypeError("'int' object is not iterable"), SOURCE, "p1",
                               b'{"tags": 5}', keep_bytes=100)
    assert letter == {"error": "'int' object is not iterable", "error_type": "TypeError",
                      "topic": "primary.shop-clear", "partition": 2, "offset": 41, "key": "p1",
                      "value": '{"tags": 5}', "value_bytes": 11, "value_truncated": False,
                      "destination": None}


def test_a_large_value_is_cut_to_a_prefix_with_its_size_so_the_letter_stays_small() -> None:
    raw = "я".encode() * 1_000_000
    letter = input_dead_letter(ValueError("x" * 50_000), SOURCE, "k" * 5_000, raw,
                               keep_bytes=1_000)
    assert letter["value_bytes"] == 2_000_000 and letter["value_truncated"] is True
    assert letter["value"] == "я" * 500
    assert len(orjson.dumps(letter)) < 10_000


def test_a_key_that_is_not_utf8_is_shown_with_replacement_characters() -> None:
    key = b"p\xff".decode("utf-8", "surrogateescape")
    letter = input_dead_letter(ValueError("bad key"), SOURCE, key, None, keep_bytes=100)
    assert letter["key"] == "p\ufffd" and letter["value"] is None
    orjson.dumps(letter)  # serializable: no lone surrogates left


def test_an_oversize_letter_names_its_destination_and_sizes() -> None:
    serialized = serialized_value({"names": ["Книга"] * 100})
    letter = oversize_dead_letter("products_by_category", serialized, 500, SOURCE, "Книги",
                                  keep_bytes=50)
    assert letter["error_type"] == VALUE_TOO_LARGE
    assert letter["destination"] == "products_by_category" and letter["key"] == "Книги"
    assert f"is {len(serialized)} bytes" in letter["error"] and "500" in letter["error"]
    assert letter["value_bytes"] == len(serialized) and letter["value_truncated"] is True


def test_the_size_is_the_one_quix_writes() -> None:
    assert serialized_value({"a": "ё"}) == '{"a":"ё"}'.encode()
