"""Issue 12 changes nothing for the generated catalog: the new matcher judges every product as the
matcher before it did (same banned ids, same entries, same fields).

The old verdicts are computed here by the old rule, kept in this test only: the fold as it was
(six invisible characters dropped, NFKC, casefold, ``ё`` = ``е``, leftover diacritics dropped) and
the MVP's single words compared token by token, field by field. The MVP list has no phrases, so
that is all the old ``_first_hit`` did for it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pytest

from pokupai_lib.bans.rules import BanList, normalize_term, product_text_fields
from pokupai_lib.ingest.catalog import DEFAULT_BANNED_WORDS, generate_catalog

Verdict = tuple[str, str, str] | None

_OLD_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]+")
_OLD_DIACRITICS = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+"
)
_OLD_WORD = re.compile(r"[^\W_]+")


def old_fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", _OLD_INVISIBLE.sub("", text))
    text = unicodedata.normalize("NFKC", text.casefold()).replace("ё", "е")
    return _OLD_DIACRITICS.sub("", text)


def old_verdict(product: dict[str, Any], words: set[str]) -> Verdict:
    for label, text in product_text_fields(product):
        for token in _OLD_WORD.findall(old_fold(text)):
            if token in words:
                return ("word", token, label)
    return None


@pytest.mark.parametrize(("count", "seed"), [(20_000, 42), (5_000, 7)])
def test_the_generated_catalog_is_judged_as_before(count: int, seed: int) -> None:
    catalog = generate_catalog(count, seed=seed)
    bans = BanList()
    for word in DEFAULT_BANNED_WORDS:
        bans.add(word)
    words = {normalize_term(word) for word in DEFAULT_BANNED_WORDS}
    new: dict[str, Verdict] = {}
    old: dict[str, Verdict] = {}
    for product in catalog.products:
        found = bans.match(product)
        new[product["product_id"]] = None if found is None else (
            found.rule, found.term, found.field)
        old[product["product_id"]] = old_verdict(product, words)
    assert {pid for pid, v in old.items() if v} == catalog.banned_ids  # the old rule is right
    assert new == old
