"""Keys and records of the ban-words topic, without a broker."""

from __future__ import annotations

import json

import pytest

from pokupai_lib.ban_rules import BanList
from pokupai_lib.ban_topic import apply_ban_record, ban_key, parse_ban_key
from pokupai_lib.banwords_api import MAX_TERM_LENGTH, check_term


def test_word_keys_are_the_normalized_term_and_exact_bans_are_prefixed() -> None:
    assert ban_key("  Ёлочная ИГРУШКА! ", "word") == "елочная игрушка"
    assert ban_key(" 12345 ", "product_id") == "product_id:12345"
    assert ban_key("XYZ-1", "sku") == "sku:XYZ-1"
    with pytest.raises(ValueError):
        ban_key("   ", "sku")


@pytest.mark.parametrize(("key", "parsed"), [
    ("бан", ("бан", "word")),
    ("product_id:777", ("777", "product_id")),
    ("sku:A-1", ("A-1", "sku")),
])
def test_keys_parse_back(key: str, parsed: tuple[str, str]) -> None:
    assert parse_ban_key(key) == parsed


def test_records_add_and_tombstones_remove() -> None:
    bans = BanList()
    value = json.dumps({"term": "контрафакт", "kind": "word", "added_at": "x", "source": "t"})
    assert apply_ban_record(bans, "контрафакт".encode(), value.encode()) is None
    assert apply_ban_record(bans, b"sku:A-1", b'{"term": "A-1", "kind": "sku"}') is None
    assert bans.terms("word") == ["контрафакт"] and bans.terms("sku") == ["A-1"]
    assert apply_ban_record(bans, "контрафакт".encode(), None) is None
    assert bans.terms("word") == []


def test_unusable_records_are_reported_not_applied() -> None:
    bans = BanList()
    assert apply_ban_record(bans, None, b"{}") == "record without key"
    assert "unreadable" in (apply_ban_record(bans, b"x", b"not json") or "")
    assert "unknown kind" in (apply_ban_record(bans, b"x", b'{"kind": "color"}') or "")
    assert len(bans) == 0


def test_api_term_check() -> None:
    assert check_term("  бан ") == "бан"
    with pytest.raises(ValueError, match="whitespace"):
        check_term(" \t")
    with pytest.raises(ValueError, match=f"at most {MAX_TERM_LENGTH}"):
        check_term("я" * (MAX_TERM_LENGTH + 1))
