"""Which characters the REST services refuse in text, and what they say."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pokupai_lib.runtime.rest_validation import BIDI_CONTROLS, bounded_text, forbidden_character

BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"


@pytest.mark.parametrize("code", [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)])
def test_every_c0_del_and_c1_control_is_refused(code: int) -> None:
    assert forbidden_character(f"ab{chr(code)}") == (
        f"must not contain the control character U+{code:04X} (character 3)")


@pytest.mark.parametrize("ch", list(BIDI))
def test_every_bidi_control_is_refused_by_name(ch: str) -> None:
    assert forbidden_character(f"x{ch}") == (f"must not contain the bidirectional control "
                                             f"U+{ord(ch):04X} {unicodedata.name(ch)} "
                                             "(character 2)")


@pytest.mark.parametrize("text", ["Ёлка", "wi-fi", "кон\u00adтрафакт", "a\u200db", "¡olé!",
                                  "\u00a0x", "日本語"])
def test_ordinary_text_and_invisible_joiners_pass(text: str) -> None:
    assert forbidden_character(text) is None


@given(st.text())
def test_a_character_is_refused_exactly_when_it_is_cc_or_a_bidi_control(text: str) -> None:
    refused = any(unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS for ch in text)
    assert (forbidden_character(text) is not None) == refused


def test_edge_whitespace_is_stripped_but_an_edge_c1_control_is_refused() -> None:
    check = bounded_text(10)
    assert check(" \tбан\r\n") == "бан"
    with pytest.raises(ValueError, match="U\\+0085"):
        check("\x85бан")  # str.strip() would have dropped it silently
    with pytest.raises(ValueError, match="U\\+0009"):
        check("ба\tн")
