"""Folding of ban terms and product text: default-ignorables, spaces, scripts and skeletons."""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pokupai_lib.bans.folding import (
    cp1251,
    fold,
    fold_cp1251,
    folded_words,
    is_mixed_script,
    may_mix_scripts,
    skeleton,
    split_words,
)

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALL_CHARS = "".join(map(chr, range(sys.maxunicode + 1)))
IGNORABLES = regex.findall(r"\p{Default_Ignorable_Code_Point}", ALL_CHARS)
SPACES = sorted(set(regex.findall(r"[\p{White_Space}\p{Zs}]", ALL_CHARS)))
DIACRITICS = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+"
)


@pytest.mark.parametrize(
    "char",
    ["\u00ad", "\u034f", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202e",
     "\u2060", "\u2066", "\u2069", "\ufe0f", "\ufeff", "\u3164", "\U000e0041", "\U000e0100"],
)
def test_default_ignorables_are_dropped(char: str) -> None:
    assert folded_words(f"кон{char}тра{char}факт") == ["контрафакт"]


def test_the_standard_ignorables_are_all_there() -> None:
    # The Unicode property has 4,000-odd code points: bidi marks, selectors, tags, fillers...
    assert len(IGNORABLES) > 4000
    assert {"\u00ad", "\u200e", "\u180e", "\ufe00", "\U000e01ef"} <= set(IGNORABLES)


@FAST
@given(st.text())
def test_fold_leaves_no_default_ignorable(text: str) -> None:
    assert not regex.search(r"\p{Default_Ignorable_Code_Point}", fold(text))


@pytest.mark.parametrize("space", SPACES, ids=[f"U+{ord(c):04X}" for c in SPACES])
def test_every_kind_of_space_separates_words(space: str) -> None:
    assert folded_words(f"поддельный{space}товар") == ["поддельный", "товар"]


def test_hyphens_apostrophes_and_underscores_separate_words() -> None:
    assert folded_words("Wi-Fi rock'n'roll бан_2") == ["wi", "fi", "rock", "n", "roll", "бан", "2"]


def test_case_yo_width_and_stress_marks_fold() -> None:
    assert folded_words("ЁЛКА ｆｏｏ за\u0301мок е\u0308ж") == ["елка", "foo", "замок", "еж"]


def test_cp1251_has_no_diacritic_so_fold_may_skip_looking_for_them() -> None:
    encodable = bytes(range(256)).decode("cp1251", errors="ignore")
    assert not DIACRITICS.search(encodable)


@FAST
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_fold_drops_every_diacritic_it_cannot_compose(text: str) -> None:
    folded, encoded = fold_cp1251(text)
    assert not DIACRITICS.search(folded)
    assert encoded == cp1251(folded)


@pytest.mark.parametrize(
    ("word", "mixed"),
    [
        ("кoнтрафакт", True),  # Latin o
        ("хуz", True),  # Cyrillic х у, Latin z
        ("σx", True),
        ("к٥", True),  # an Arabic-Indic digit is not a neutral digit
        ("контрафакт", False),
        ("xyz", False),
        ("бан1", False),  # digits belong to every script
        ("к0нтрафакт", False),
        ("日本ごカ", False),  # Han with kana: one script for UTS #39 (Japanese)
        ("한國", False),  # Hangul with Han (Korean)
    ],
)
def test_mixed_script_follows_uts39(word: str, mixed: bool) -> None:
    assert is_mixed_script(word) is mixed


def test_look_alikes_share_a_skeleton() -> None:
    assert skeleton("кoнтрафакт") == skeleton("контрафакт")
    assert skeleton("хуz") == skeleton("xyz")
    assert skeleton("сор") == skeleton("cop")  # alike; the matcher only compares mixed words
    assert skeleton("бан") != skeleton("баня")


@pytest.mark.parametrize(
    ("text", "maybe"),
    [
        ("умные часы xyz, gps 5.3 и 42mm", False),
        ("кoнтрафакт", True),
        ("xyz1к", True),
        ("к1x", True),
        ("к x", False),
        ("σ и x", True),  # a third script: some word might mix, the slow path decides
        ("café 42 × 36 мм, ½ л", False),  # what cp1251 lacks has stand-ins of its script
        ("кé", True),
        ("ж٥", True),
    ],
)
def test_may_mix_scripts_is_a_cheap_superset(text: str, maybe: bool) -> None:
    assert may_mix_scripts(cp1251(fold(text))) is maybe


MIXABLE = ("абвгдеёжзиклмнопрстуфхцчшщъыьэюяАБВЕКМНОРСТХ"
           "abcdefghijklmnopqrstuvwxyzABCEHKMOPTXσοΑ0123٥éÉñ日ごア한×½ ,-")


@FAST
@given(st.text(alphabet=MIXABLE, max_size=30))
def test_may_mix_scripts_never_misses_a_mixed_word(text: str) -> None:
    folded, encoded = fold_cp1251(text)
    if any(is_mixed_script(word) for word in split_words(folded)):
        assert may_mix_scripts(encoded)


@FAST
@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


def test_fold_keeps_a_text_without_anything_to_fold() -> None:
    text = "умные часы xyz: gps и 42 мм «тест»"
    assert fold(text) == unicodedata.normalize("NFKC", text)
