from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pokupai_lib.bans.rules import (
    BanKind,
    BanList,
    BanMatch,
    normalize_term,
    product_text_fields,
)
from pokupai_lib.bans.word_forms import word_forms

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PRODUCT: dict[str, Any] = {
    "product_id": "12345",
    "name": "Умные часы XYZ",
    "description": "Умные часы с пульсометром и GPS.",
    "price": {"amount": 4999.99, "currency": "RUB"},
    "category": "Электроника",
    "brand": "XYZ",
    "stock": {"available": 150, "reserved": 20},
    "sku": "XYZ-12345",
    "tags": ["умные часы", "гаджеты"],
    "images": [{"url": "https://example.com/a.jpg", "alt": "запрещёнка на фото"}],
    "specifications": {"weight": "50g", "water_resistance": "IP68", "color": "чёрный"},
    "created_at": "2023-10-01T12:00:00Z",
    "updated_at": "2023-10-01T12:00:00Z",
    "index": "products",
    "store_id": "store_001",
}


def bans_of(*terms: str, kind: BanKind = "word") -> BanList:
    bans = BanList()
    for term in terms:
        bans.add(term, kind)
    return bans


def named(name: str, **fields: Any) -> dict[str, Any]:
    return {"product_id": "1", "name": name, **fields}


# --- words -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["банан", "кабан", "бант", "бан1", "1бан"])
def test_a_banned_word_inside_a_longer_word_does_not_match(text: str) -> None:
    assert bans_of("бан").match(named(f"Свежий {text} дня")) is None


@pytest.mark.parametrize("text", ["бан", "Тут БАН!", "(бан)", "бан-лист", "«Бан»", "бан_2"])
def test_a_banned_word_matches_as_a_whole_word(text: str) -> None:
    assert bans_of("бан").match(named(text)) == BanMatch("word", "бан", "name")


def test_matching_ignores_case() -> None:
    bans = bans_of("контрафакт")
    assert bans.match(named("КОНТРАФАКТ из Китая")) == BanMatch("word", "контрафакт", "name")
    assert bans_of("КонтраФакт").terms("word") == ["контрафакт"]


@pytest.mark.parametrize(
    ("ban", "text"),
    [("ёлка", "Искусственная елка"), ("елка", "Искусственная Ёлка"), ("ЁЛКА", "ёлка")],
)
def test_yo_and_ye_are_the_same_letter(ban: str, text: str) -> None:
    assert bans_of(ban).match(named(text)) == BanMatch("word", "елка", "name")


def test_yo_ban_still_needs_the_whole_word() -> None:
    bans = bans_of("Ёж")
    assert bans.match(named("Колючий еж")) == BanMatch("word", "еж", "name")
    assert bans.match(named("Колючий ЁЖ")) is not None
    assert bans.match(named("Колючий ежик")) is None


def test_fullwidth_letters_are_nfkc_normalized() -> None:
    assert bans_of("foo").match(named("ｆｏｏ bar")) == BanMatch("word", "foo", "name")
    assert normalize_term("ＦＯＯ") == "foo"


def test_invisible_characters_and_stress_marks_do_not_split_words() -> None:
    assert bans_of("контрафакт").match(named("кон\u00adтра\u200bфакт")) is not None
    # Bidi marks and variation selectors split words before issue 12; all ignorables go now.
    assert bans_of("контрафакт").match(named("кон\u200eтра\ufe0fфакт\u2066")) is not None
    assert bans_of("замок").match(named("за\u0301мок")) is not None
    assert normalize_term("е\u0308ж") == "еж"  # decomposed ё


def test_hyphens_and_apostrophes_separate_words() -> None:
    assert normalize_term("Wi-Fi") == "wi fi"
    assert bans_of("wi-fi").match(named("Модуль WI FI")) is not None
    assert bans_of("wi-fi").match(named("Модуль wifi")) is None
    assert normalize_term("rock'n'roll") == "rock n roll"


# --- phrases ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["Поддельный, товар!", "поддельный\n\t товар", "ПОДДЕЛЬНЫЙ-ТОВАР"])
def test_a_phrase_matches_consecutive_words_across_punctuation(text: str) -> None:
    bans = bans_of("поддельный товар")
    assert bans.match(named(text)) == BanMatch("word", "поддельный товар", "name")


@pytest.mark.parametrize("text", ["поддельный хороший товар", "товар поддельный", "поддельный"])
def test_a_phrase_needs_all_its_words_in_order(text: str) -> None:
    assert bans_of("поддельный товар").match(named(text)) is None


def test_a_phrase_does_not_span_two_fields() -> None:
    bans = bans_of("поддельный товар")
    product = named("Совсем поддельный", description="товар отличный", tags=["поддельный", "товар"])
    assert bans.match(product) is None


def test_at_one_position_the_longest_phrase_wins() -> None:
    bans = bans_of("поддельный", "поддельный товар", "товар")
    assert bans.match(named("это поддельный товар")) == BanMatch("word", "поддельный товар", "name")


def test_the_leftmost_term_in_a_field_wins() -> None:
    bans = bans_of("б", "а б", "в")
    assert bans.match(named("в а б")) == BanMatch("word", "в", "name")


# --- fields ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "label"),
    [
        ("name", "табак", "name"),
        ("description", "Лучший табак.", "description"),
        ("brand", "Табак", "brand"),
        ("category", "табак и трубки", "category"),
        ("tags", ["курение", "табак"], "tags[1]"),
        ("specifications", {"вид": "табак"}, "specifications.вид"),
        ("specifications", {"состав": ["вода", "табак"]}, "specifications.состав[1]"),
    ],
)
def test_every_searched_field_can_match(field: str, value: Any, label: str) -> None:
    product = {"product_id": "1", field: value}
    assert bans_of("табак").match(product) == BanMatch("word", "табак", label)


def test_specification_keys_and_other_fields_are_not_searched() -> None:
    bans = bans_of("табак", "запрещенка", "products", "rub")
    product = {**PRODUCT, "specifications": {"табак": "нет"}}
    assert bans.match(product) is None


def test_numbers_in_specifications_are_searched_as_text() -> None:
    product = named("Гиря", specifications={"weight_kg": 32, "sealed": True})
    assert bans_of("32").match(product) == BanMatch("word", "32", "specifications.weight_kg")
    assert bans_of("true").match(product) is None


def test_fields_are_searched_in_a_fixed_order() -> None:
    bans = bans_of("часы", "электроника", "xyz")
    assert bans.match(PRODUCT) == BanMatch("word", "часы", "name")
    product = {**PRODUCT, "name": "Браслет", "description": None}
    assert bans.match(product) == BanMatch("word", "xyz", "brand")


def test_product_text_fields_lists_labels_in_match_order() -> None:
    assert [label for label, _ in product_text_fields(PRODUCT)] == [
        "name",
        "description",
        "brand",
        "category",
        "tags[0]",
        "tags[1]",
        "specifications.weight",
        "specifications.water_resistance",
        "specifications.color",
    ]


@pytest.mark.parametrize(
    "product",
    [
        {},
        {"name": None, "tags": None, "specifications": None, "sku": None, "product_id": None},
        {"tags": [None, 3, {"x": None}], "specifications": {"a": None}, "product_id": 7},
        {"name": "", "description": "   ", "tags": []},
    ],
)
def test_missing_or_odd_fields_simply_do_not_match(product: dict[str, Any]) -> None:
    bans = bans_of("табак")
    bans.add("12345", "product_id")
    bans.add("XYZ-12345", "sku")
    assert bans.match(product) is None


def test_a_field_containing_the_internal_separator_is_still_labelled_right() -> None:
    product = named("a\x1fb", description="табак")
    assert bans_of("табак").match(product) == BanMatch("word", "табак", "description")


# --- product ids and SKUs --------------------------------------------------------------------


def test_product_id_matches_exactly_after_stripping() -> None:
    bans = bans_of(" 12345 ", kind="product_id")
    assert bans.terms("product_id") == ["12345"]
    assert bans.match(PRODUCT) == BanMatch("product_id", "12345", "product_id")
    assert bans.match({**PRODUCT, "product_id": " 12345\n"}) is not None
    assert bans.match({**PRODUCT, "product_id": 12345}) is not None
    assert bans.match({**PRODUCT, "product_id": "123456"}) is None


def test_sku_matches_exactly_and_keeps_case() -> None:
    assert bans_of("XYZ-12345", kind="sku").match(PRODUCT) == BanMatch("sku", "XYZ-12345", "sku")
    assert bans_of("xyz-12345", kind="sku").match(PRODUCT) is None
    assert bans_of("XYZ", kind="sku").match(PRODUCT) is None


def test_a_word_ban_equal_to_an_id_does_not_trigger_the_id_rules() -> None:
    product = {"product_id": "12345", "sku": "XYZ-12345", "name": "Часы"}
    assert bans_of("12345", "xyz").match(product) is None


def test_id_rules_come_before_sku_and_words() -> None:
    bans = bans_of("часы")
    bans.add("XYZ-12345", "sku")
    assert bans.match(PRODUCT) == BanMatch("sku", "XYZ-12345", "sku")
    bans.add("12345", "product_id")
    assert bans.match(PRODUCT) == BanMatch("product_id", "12345", "product_id")


# --- editing the list ------------------------------------------------------------------------


def test_add_is_idempotent_and_returns_the_key() -> None:
    bans = BanList()
    assert bans.add("  Поддельный,   ТОВАР ") == "поддельный товар"
    assert bans.add("поддельный товар") == "поддельный товар"
    assert len(bans) == 1
    assert bans.add("поддельный товар", "sku") == "поддельный товар"
    assert len(bans) == 2


def test_remove_lifts_the_ban() -> None:
    bans = bans_of("контрафакт", "поддельный товар")
    bans.add("12345", "product_id")
    assert bans.remove("КОНТРАФАКТ") is True
    assert bans.remove("контрафакт") is False
    assert bans.remove("поддельный, товар") is True
    assert bans.remove("12345", "product_id") is True
    assert bans.remove("12345", "sku") is False
    assert len(bans) == 0
    assert bans.match(named("контрафакт поддельный товар", product_id="12345")) is None


def test_terms_are_sorted_per_kind() -> None:
    bans = bans_of("яблоко", "апельсин", "банан спелый")
    bans.add("B-2", "sku")
    bans.add("A-1", "sku")
    assert bans.terms("word") == ["апельсин", "банан спелый", "яблоко"]
    assert bans.terms("sku") == ["A-1", "B-2"]
    assert bans.terms("product_id") == []


@pytest.mark.parametrize("kind", ["word", "product_id", "sku"])
@pytest.mark.parametrize("term", ["", "   ", "\t\n"])
def test_a_blank_term_is_rejected(term: str, kind: BanKind) -> None:
    with pytest.raises(ValueError, match=r"empty|no letters"):
        BanList().add(term, kind)


@pytest.mark.parametrize("term", ["!!!", " - ", "_"])
def test_a_term_without_letters_or_digits_is_rejected(term: str) -> None:
    with pytest.raises(ValueError, match="no letters or digits"):
        normalize_term(term)
    with pytest.raises(ValueError, match="no letters or digits"):
        BanList().remove(term)


def test_an_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown ban kind"):
        BanList().add("x", "brand")  # type: ignore[arg-type]


def test_a_writer_thread_can_edit_while_a_reader_matches() -> None:
    bans = bans_of("часы")
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for index in range(2000):
                bans.add(f"слово{index % 50}")
                bans.remove(f"слово{(index + 25) % 50}")
        except BaseException as error:  # noqa: BLE001 - reported to the main thread
            errors.append(error)
        finally:
            stop.set()

    writer = threading.Thread(target=write)
    writer.start()
    while not stop.is_set():
        assert bans.match(PRODUCT) == BanMatch("word", "часы", "name")
    writer.join()
    assert errors == []


# --- properties ------------------------------------------------------------------------------

LETTERS = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ" + (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
SEPARATORS = [" ", ", ", "! ", " - ", "\n", "\t", " (", ") ", "...", " «", "» ", "/"]
CASE_CHANGES: list[Callable[[str], str]] = [
    str.upper,
    str.lower,
    str.swapcase,
    str.title,
    str.capitalize,
]

words = st.text(alphabet=LETTERS, min_size=1, max_size=12)
fillers = st.lists(words, max_size=4)
separators = st.sampled_from(SEPARATORS)


def join(parts: list[str], sep: str) -> str:
    return sep.join(parts)


@FAST
@given(words, fillers, fillers, separators, st.sampled_from(CASE_CHANGES))
def test_a_separate_word_matches_whatever_its_case(
    word: str, before: list[str], after: list[str], sep: str, change: Callable[[str], str]
) -> None:
    name = join([*before, change(word), *after], sep)
    assert bans_of(word).match(named(name)) == BanMatch("word", normalize_term(word), "name")


@FAST
@given(words, st.text(alphabet=LETTERS, max_size=5), st.text(alphabet=LETTERS, max_size=5))
def test_a_longer_word_containing_the_ban_does_not_match(
    word: str, prefix: str, suffix: str
) -> None:
    assume(prefix or suffix)
    assume(normalize_term(word) != "товар")
    # A longer word can be one of the banned word's forms («я» and «меня»): then it is banned.
    longer = normalize_term(f"{prefix}{word}{suffix}")
    assume(longer not in word_forms(normalize_term(word)))
    assert bans_of(word).match(named(f"Товар {prefix}{word}{suffix}!")) is None


@FAST
@given(st.text())
def test_normalize_term_is_idempotent(text: str) -> None:
    try:
        once = normalize_term(text)
    except ValueError:
        assume(False)
        raise
    assert normalize_term(once) == once


RICH = LETTERS + "ßİıΣσςＡｂ０１²ﬁ\u0301\u00ad ,.-!ё'"


@FAST
@given(
    st.lists(st.text(alphabet=RICH, max_size=20), min_size=1, max_size=4),
    st.lists(st.text(alphabet=RICH, min_size=1, max_size=8), min_size=1, max_size=4),
)
def test_matching_is_invariant_under_casefold_of_the_product(
    texts: list[str], terms: list[str]
) -> None:
    bans = BanList()
    for term in terms:
        try:
            bans.add(term)
        except ValueError:
            continue
    product = named(texts[0], description=" ".join(texts), tags=texts[1:])
    folded = named(
        texts[0].casefold(),
        description=" ".join(texts).casefold(),
        tags=[text.casefold() for text in texts[1:]],
    )
    assert bans.match(product) == bans.match(folded)


VOCAB = ["кот", "кота", "коты", "кит", "Кёт", "dog", "собака", "собаки"]


def reference_hit(terms: list[str], text: str) -> set[str]:
    """Every ban term whose words occur consecutively in ``text``, each in one of its forms:
    the obvious slow way."""
    tokens = normalize_term(text).split(" ")
    hits = set()
    for term in terms:
        wanted = term.split(" ")
        for start in range(len(tokens) - len(wanted) + 1):
            if all(tokens[start + k] in word_forms(word) for k, word in enumerate(wanted)):
                hits.add(term)
    return hits


@FAST
@given(
    st.lists(st.lists(st.sampled_from(VOCAB), min_size=1, max_size=3), min_size=1, max_size=4),
    st.lists(st.sampled_from(VOCAB), min_size=1, max_size=12),
    separators,
)
def test_word_and_phrase_matching_agrees_with_a_naive_scan(
    term_words: list[list[str]], text_words: list[str], sep: str
) -> None:
    bans = BanList()
    terms = [bans.add(" ".join(term)) for term in term_words]
    text = join(text_words, sep)
    found = bans.match(named(text))
    expected = reference_hit(terms, text)
    if expected:
        assert found is not None
        assert found.term in expected
    else:
        assert found is None
