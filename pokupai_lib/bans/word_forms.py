"""The inflected forms a banned word stands for, from pymorphy3's Russian dictionary.

A ban on «контрафакт» also bans «контрафакта» and «контрафактом», and no other word: not the
adjective «контрафактный», not «банан» for «бан». Which lexemes (a word with all its forms) a
typed word stands for:

- a word with a character outside ``а``-``я`` (Latin, digits, other Cyrillic letters) stands only
  for itself: ``xyz``, ``32``, ``бан1``;
- a word the dictionary knows stands for the lexemes it is the dictionary form (lemma) of:
  «стекло» is the noun's lexeme, not the past tense of «стечь»; «бан» gives «баны», «бану»...
  and not «баня», whose forms are «бани», «баню»...; when it is the lemma of nothing, it stands
  for every lexeme it is a form of: «баны» gives the lexeme of «бан», «стали» those of both
  «сталь» and «стать»;
- an unknown word stands for the lexemes pymorphy3 guesses with the word as their lemma
  («контрафакт» is not in the dictionary, but is declined as a masculine noun), and for itself
  only when no guess has it as lemma (a moderator types the dictionary form; «фууу» would
  otherwise be read as a form of some name «Фууа»).

Forms are folded like everything else (``ё`` = ``е``: «ёж» gives «еж», «ежа»...) and forms that
fold to more than one word are left out. A form shared by two lexemes is banned with either:
a ban on «бан» bans «бане», which is also a form of «баня».
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from pokupai_lib.bans.folding import fold, folded_words

if TYPE_CHECKING:
    from pymorphy3 import MorphAnalyzer

__all__ = ["word_forms"]

_RUSSIAN_WORD = re.compile("[а-я]+")


@functools.cache
def _analyzer() -> MorphAnalyzer:
    # Imported here: only processes that add ban words load the dictionary (about 30 MB).
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")


@functools.lru_cache(maxsize=65536)
def word_forms(word: str) -> frozenset[str]:
    """Return every folded form of the lexemes ``word`` stands for, ``word`` included.

    Args:
        word: one folded word, as :func:`~pokupai_lib.bans.folding.folded_words` gives it.

    Returns:
        The folded forms, e.g. ``word_forms("подделка")`` holds ``"подделки"`` and
        ``"подделку"``; ``word_forms("xyz")`` is ``{"xyz"}``.
    """
    if not _RUSSIAN_WORD.fullmatch(word):
        return frozenset({word})
    parses = _analyzer().parse(word)
    known = [parse for parse in parses if parse.is_known]
    lemmas = [parse for parse in known or parses if fold(parse.normal_form) == word]
    forms = {word}
    for parse in lemmas or known:
        for form in parse.lexeme:
            words = folded_words(form.word)
            if len(words) == 1:
                forms.add(words[0])
    return frozenset(forms)
