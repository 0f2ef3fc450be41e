"""Which word forms a banned word stands for (pymorphy3's Russian dictionary)."""

from __future__ import annotations

import pytest

from pokupai_lib.bans.folding import folded_words
from pokupai_lib.bans.word_forms import word_forms


@pytest.mark.parametrize(
    ("word", "forms", "not_forms"),
    [
        ("контрафакт", {"контрафакта", "контрафактом", "контрафакты"}, {"контрафактный"}),
        ("подделка", {"подделки", "подделку", "подделок"}, {"поддельный", "подделать"}),
        ("бан", {"баны", "бану", "баном"}, {"баня", "бани", "банан", "бант", "банка"}),
        ("баны", {"бан", "бану"}, {"баня"}),  # not a lemma: the lexeme it is a form of
        ("стекло", {"стекла", "стеклом"}, {"стечь", "стекли"}),  # the noun, not «стечь»
        ("поддельный", {"поддельного", "поддельная", "поддельные"}, {"подделка"}),
        ("еж", {"ежа", "ежом", "ежи"}, {"ежик"}),  # ё = е in the forms too
        ("ченсоред", {"ченсореда"}, set()),  # unknown, guessed as a noun with this lemma
    ],
)
def test_a_word_stands_for_its_forms_and_no_other_word(
    word: str, forms: set[str], not_forms: set[str]
) -> None:
    found = word_forms(word)
    assert word in found
    assert forms <= found
    assert not not_forms & found


@pytest.mark.parametrize("word", ["xyz", "wi", "32", "бан1", "фууу", "зашквар"])
def test_words_outside_the_dictionary_paradigms_stand_for_themselves(word: str) -> None:
    assert word_forms(word) == {word}


@pytest.mark.parametrize("word", ["бан", "контрафакт", "поддельный", "еж", "идти", "я"])
def test_forms_are_folded_single_words(word: str) -> None:
    for form in word_forms(word):
        assert folded_words(form) == [form]
