"""The recommender's logic without Kafka: judging records, matching, product changes, the two
joins' mergers."""

from __future__ import annotations

import zlib

import orjson
import pytest

from pokupai_lib.recommendations.rules import (
    MAX_NAME_CHARS,
    MAX_SEARCH_CHARS,
    MAX_TAGS,
    Invalid,
    apply_term_change,
    build_recommendation,
    judge_product,
    match_key,
    parse_product,
    parse_search,
    product_changes,
    record_key,
    resolve_category,
    term_batches,
    term_bucket,
)


def _raw(value: object) -> bytes:
    return orjson.dumps(value)


def _product(name: str, category: str, **extra: object) -> dict[str, object]:
    parsed = parse_product(_raw({"name": name, "category": category, **extra}))
    assert parsed is not None
    return parsed


@pytest.mark.parametrize("text", ["Красота", "красоту", " КРАСОТЫ ", "красотой!"])
def test_word_forms_and_case_share_one_match_key(text: str) -> None:
    assert match_key(text) == match_key("красота")


def test_yo_and_stress_marks_fold_like_the_ban_rules() -> None:
    assert match_key("Ёлки") == match_key("елки")
    assert match_key("за\u0301мок") == match_key("замок")


def test_different_words_keep_different_keys() -> None:
    assert match_key("часы") != match_key("чай")


def test_a_product_is_found_by_its_name_and_tag_phrases_not_its_description() -> None:
    product = _product("Умные часы XYZ", " Электроника ", tags=["умные часы", "гаджеты"],
                       description="GPS и уведомления")
    assert product["category"] == "Электроника"
    assert match_key("часов") in product["terms"]
    assert match_key("Умные часы") in product["terms"]
    assert match_key("гаджетов") in product["terms"]
    assert match_key("уведомлениями") not in product["terms"]


@pytest.mark.parametrize(("raw", "reason"), [
    (b"{not json", "not JSON"),
    (b"[1, 2]", "JSON array, not an object"),
    (_raw({"name": "X"}), "category is missing"),
    (_raw({"name": " ", "category": "Книги"}), "name is blank"),
    (_raw({"name": 42, "category": "Книги"}), "name is a JSON number"),
    (_raw({"name": "X", "category": ["Книги"]}), "category is a JSON array"),
    (_raw({"name": "X", "category": "Книги", "tags": 7}), "tags is a JSON number"),
    (_raw({"name": "X", "category": "Книги", "tags": "книги"}), "tags is a JSON string"),
    (_raw({"name": "X", "category": "Книги", "tags": ["ok", 1]}), "tag 1 is a JSON number"),
    (_raw({"name": "X", "category": "Книги", "tags": [["a"]]}), "tag 0 is a JSON array"),
    (_raw({"name": "X", "category": "Книги", "tags": ["t"] * (MAX_TAGS + 1)}), "tags, more"),
    (_raw({"name": "я" * (MAX_NAME_CHARS + 1), "category": "Книги"}), "name has 501"),
])
def test_an_unusable_product_says_why(raw: bytes, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        parse_product(raw)
    with pytest.raises(Invalid, match=reason):
        judge_product(raw)  # the checks' cheaper judge refuses exactly the same


def test_the_cheaper_judge_keeps_what_parsing_keeps_but_the_terms() -> None:
    raw = _raw({"name": "Умные часы", "category": " Электроника ", "tags": ["гаджеты"]})
    parsed, judged = parse_product(raw), judge_product(raw)
    assert parsed is not None and judged is not None
    assert (judged["name"], judged["category"]) == (parsed["name"], parsed["category"])
    assert judge_product(None) is None


def test_tags_may_be_absent_or_null() -> None:
    assert _product("Чай", "Продукты")["terms"] == _product("Чай", "Продукты", tags=None)["terms"]


def test_a_key_must_be_utf8_text_and_present_when_required() -> None:
    assert record_key("p1", "product", required=True) == "p1"
    assert record_key(" ", "search event", required=False) is None
    with pytest.raises(Invalid, match="has no key"):
        record_key(None, "product", required=True)
    with pytest.raises(Invalid, match="not UTF-8"):
        record_key(b"p\xff".decode("utf-8", "surrogateescape"), "product", required=True)


def test_a_tombstone_is_a_deleted_product() -> None:
    assert parse_product(None) is None


def test_a_search_takes_its_client_from_the_key_when_the_value_has_none() -> None:
    search = parse_search(_raw({"word_search": "Красота", "searched_at": "t"}), "42")
    assert search == {"id_client": "42", "word_search": "Красота", "searched_at": "t",
                      "key": match_key("красота")}


def test_an_integer_client_id_becomes_text() -> None:
    assert parse_search(_raw({"id_client": 7, "word_search": "чай"}), None)["id_client"] == "7"


@pytest.mark.parametrize(("raw", "reason"), [
    (None, "tombstone"),
    (b"\xff\xfe", "not JSON"),
    (_raw({"id_client": "1", "word_search": "!!!"}), "no word_search"),
    (_raw({"word_search": "чай"}), "no id_client"),
    (_raw({"id_client": "1", "word_search": ["чай"]}), "word_search is a JSON array"),
    (_raw({"id_client": True, "word_search": "чай"}), "id_client is a JSON boolean"),
    (_raw({"id_client": {"a": 1}, "word_search": "чай"}), "id_client is a JSON object"),
    (_raw({"id_client": "1", "word_search": "чай", "searched_at": 5}), "searched_at is a"),
    (_raw({"id_client": "1", "word_search": "ч" * (MAX_SEARCH_CHARS + 1)}), "more than"),
])
def test_an_unusable_search_says_why(raw: bytes | None, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        parse_search(raw, None)


def test_a_new_product_joins_its_category_and_adds_its_terms() -> None:
    new = _product("Чай зелёный", "Продукты")
    changes = product_changes(None, new, "p1")
    assert changes[0] == {"kind": "member", "change": "join", "category": "Продукты",
                          "pid": "p1", "name": "Чай зелёный"}
    terms = {(c["term"], c["match"], c["delta"]) for c in changes[1:]}
    assert (match_key("Продукты"), "category", 1) in terms
    assert (match_key("чай"), "word", 1) in terms


def test_republishing_the_same_product_changes_nothing() -> None:
    product = _product("Чай", "Продукты")
    assert product_changes(product, product, "p1") == []


def test_a_category_move_leaves_the_old_one_and_joins_the_new_one() -> None:
    changes = product_changes(_product("Чай", "Продукты"), _product("Чай", "Напитки"), "p1")
    members = [(c["change"], c["category"], c["name"]) for c in changes if c["kind"] == "member"]
    assert members == [("leave", "Продукты", None), ("join", "Напитки", "Чай")]
    deltas = {(c["category"], c["match"], c["delta"]) for c in changes if c["kind"] == "term"}
    assert ("Продукты", "category", -1) in deltas and ("Напитки", "word", 1) in deltas


def test_a_tombstone_removes_membership_and_every_term() -> None:
    old = _product("Чай", "Продукты")
    changes = product_changes(old, None, "p1")
    assert (changes[0]["change"], changes[0]["name"]) == ("leave", None)
    assert all(c["delta"] == -1 for c in changes[1:]) and len(changes) == 1 + len(old["terms"]) + 1


def test_a_new_name_in_the_same_category_is_a_rename_not_a_join() -> None:
    changes = product_changes(_product("Крем", "Красота"), _product("Крем для рук", "Красота"),
                              "p1")
    assert [(c["change"], c["name"]) for c in changes if c["kind"] == "member"] == [
        ("rename", "Крем для рук")]


def test_the_term_index_counts_products_per_category_and_empties() -> None:
    change = {"category": "Электроника", "match": "word", "delta": 1}
    index = apply_term_change({}, change)
    index = apply_term_change(index or {}, change)
    assert index == {"category": {}, "word": {"Электроника": 2}}
    index = apply_term_change(index, {**change, "delta": -1})
    assert apply_term_change(index or {}, {**change, "delta": -1}) is None


def test_a_category_named_by_the_term_wins_over_word_matches() -> None:
    index = {"category": {"Красота": 1}, "word": {"Одежда": 9}}
    assert resolve_category({"id_client": "1"}, index)["category"] == "Красота"


def test_otherwise_the_category_with_most_matching_products_wins_ties_alphabetically() -> None:
    index = {"category": {}, "word": {"Спорт": 1, "Электроника": 3}}
    resolved = resolve_category({"id_client": "1"}, index)
    assert (resolved["category"], resolved["match"]) == ("Электроника", "word")
    tie = resolve_category({}, {"category": {}, "word": {"Б": 2, "А": 2}})
    assert tie["category"] == "А"


def test_an_unknown_term_resolves_to_nothing() -> None:
    assert resolve_category({}, None) == {"category": None, "match": "none"}


def test_the_output_row_has_the_mvp_field_names() -> None:
    search = {"id_client": "7", "word_search": "часы", "searched_at": "2026-01-01T00:00:00Z",
              "match": "word"}
    row = {"CATEGORY": "Электроника", "ALL_PRODUCTS": ["Часы"], "PRODUCT_COUNT": 1,
           "PRODUCTS_CSV": "Часы"}
    assert build_recommendation(search, row) == {
        "CLIENT_ID": "7", "SEARCH_TERM": "часы", "MATCHED_CATEGORY": "Электроника",
        "PRODUCTS_IN_CATEGORY": "Часы", "TOTAL_PRODUCTS": 1, "ALL_PRODUCTS_ARRAY": ["Часы"],
        "MATCH_TYPE": "word", "SEARCHED_AT": "2026-01-01T00:00:00Z"}
    assert build_recommendation(search, None)["MATCH_TYPE"] == "none"


def test_a_terms_bucket_is_stable_and_within_range() -> None:
    buckets = {term_bucket(f"слово{n}", 3) for n in range(100)}
    assert buckets == {"0", "1", "2"}
    assert term_bucket("красот", 3) == term_bucket("красот", 3) == str(
        zlib.crc32("красот".encode()) % 3)


def test_a_products_term_changes_travel_in_one_record_per_bucket() -> None:
    product = _product("Умные часы Гармония", "Электроника",
                       tags=["подарок", "спорт", "шагомер", "водозащита"])
    changes = product_changes(None, product, "p1")
    batches = term_batches(changes, 3)
    assert 1 <= len(batches) <= 3
    assert [b["bucket"] for b in batches] == sorted({b["bucket"] for b in batches})
    carried = [c for b in batches for c in b["changes"]]
    assert sorted(carried, key=orjson.dumps) == sorted(
        [c for c in changes if c["kind"] == "term"], key=orjson.dumps)
    assert all(term_bucket(c["term"], 3) == b["bucket"] for b in batches for c in b["changes"])


def test_a_change_with_no_term_gives_no_batch() -> None:
    old = _product("Атлас", "Книги")
    renamed = product_changes(old, {**old, "name": "Атлас мира", "terms": old["terms"]}, "p1")
    assert term_batches(renamed, 3) == []
