"""Ban rules: which products the filter hides, and which entry of the ban list hid them.

A :class:`BanList` holds three kinds of entries: words and phrases, searched as whole words in a
product's text fields, and product ids and SKUs, compared exactly (after stripping whitespace).

Ban terms and product text go through the same tokenization, so they always agree:

1. invisible format characters (soft hyphen, zero-width space/joiners, word joiner, BOM) are
   dropped, so ``кон\\u00adтрафакт`` is still one word;
2. NFKC, casefold, NFKC again (casefolding can produce text that is no longer NFKC);
3. ``ё`` becomes ``е`` (``Ё`` has already casefolded to ``ё``);
4. combining diacritics that NFKC could not compose onto their letter (Russian stress marks,
   for instance) are dropped, so ``за́мок`` equals ``замок``;
5. a word is a maximal run of Unicode letters and digits (``str.isalnum``). Everything else,
   hyphens, apostrophes and underscores included, separates words: ``Wi-Fi`` is the two words
   ``wi fi``, so a ban on ``wi-fi`` matches "Wi Fi", "wi/fi" and "WI-FI" but not "wifi".

Matching is hand-written on ``re`` and ``unicodedata`` because multi-pattern libraries
(Aho-Corasick and the like) match substrings, not whole words, and need a native build.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from pokupai_lib.errors import InvalidInputError

__all__ = ["BanKind", "BanList", "BanMatch", "folded_words", "match_words", "normalize_term",
           "product_text_fields"]

BanKind = Literal["word", "product_id", "sku"]

_KINDS: tuple[BanKind, ...] = get_args(BanKind)
_TEXT_FIELDS = ("name", "description", "brand", "category", "tags", "specifications")
_WORD_RE = re.compile(r"[^\W_]+")
_INVISIBLE_RE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]+")
_DIACRITICS_RE = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+"
)
# Joins a product's fields so they are folded in one call; a control character is an NFKC
# starter, so no composition crosses it, and it is never part of a word.
_FIELD_SEP = "\x1f"


def _fold(text: str) -> str:
    """Steps 1-4 of the module's tokenization rule."""
    text = unicodedata.normalize("NFKC", _INVISIBLE_RE.sub("", text))
    text = unicodedata.normalize("NFKC", text.casefold()).replace("ё", "е")
    return _DIACRITICS_RE.sub("", text)


def folded_words(text: str) -> list[str]:
    """The folded words of ``text``: ``"Ёлка, КРАСОТА!"`` gives ``["елка", "красота"]``."""
    return _WORD_RE.findall(_fold(text))


def normalize_term(text: str) -> str:
    """Return the canonical form of a ban word or phrase: its words joined by single spaces.

    Args:
        text: a word or phrase as an operator typed it, e.g. ``"Поддельный, ТОВАР!"``.

    Returns:
        The folded words separated by one space, e.g. ``"поддельный товар"``.

    Raises:
        InvalidInputError: the text has no letters or digits, so it could never match anything.
    """
    words = folded_words(text)
    if not words:
        raise InvalidInputError(f"ban term {text!r} has no letters or digits; "
                                "give a word or a phrase")
    return " ".join(words)


def match_words(product: Mapping[str, Any]) -> tuple[str, ...]:
    """The distinct folded words of ``product``'s text fields, sorted: what word bans see."""
    folded = _fold(_FIELD_SEP.join(text for _, text in _text_fields(product)))
    return tuple(sorted(set(_WORD_RE.findall(folded))))


@dataclass(frozen=True)
class BanMatch:
    """Why a product is banned: the rule kind, the normalized entry and the field it hit."""

    rule: BanKind
    term: str
    field: str


def product_text_fields(product: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Yield ``(label, text)`` for every product field that word bans search, in match order.

    The fields are name, description, brand, category, each item of tags (``"tags[1]"``) and
    each value, never the key, of specifications (``"specifications.color"``). Nested lists and
    maps are walked (``"specifications.colors[0]"``), numbers are yielded as text, and missing,
    ``None`` and boolean values are skipped.

    Args:
        product: a product document as the shop publishes it.

    Returns:
        An iterator of ``(field label, text)`` pairs.
    """
    return iter(_text_fields(product))


def _text_fields(product: Mapping[str, Any]) -> list[tuple[str, str]]:
    # A list filled by recursion, not nested generators: this runs once per product.
    out: list[tuple[str, str]] = []
    for field in _TEXT_FIELDS:
        value = product.get(field)
        if isinstance(value, str):
            out.append((field, value))
        elif value is not None:
            _collect(field, value, out)
    return out


def _collect(label: str, value: object, out: list[tuple[str, str]]) -> None:
    if isinstance(value, str):
        out.append((label, value))
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        out.append((label, str(value)))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _collect(f"{label}.{key}", item, out)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _collect(f"{label}[{index}]", item, out)


@dataclass(frozen=True, slots=True)
class _Rules:
    """An immutable snapshot of a ban list, shaped for fast matching."""

    words: frozenset[str] = frozenset()
    phrases: frozenset[tuple[str, ...]] = frozenset()
    heads: frozenset[str] = frozenset()  # first words of the phrases
    lengths: tuple[int, ...] = ()  # phrase lengths, longest first
    product_ids: frozenset[str] = frozenset()
    skus: frozenset[str] = frozenset()


def _build_rules(entries: Mapping[BanKind, set[str]]) -> _Rules:
    words = {term for term in entries["word"] if " " not in term}
    phrases = {tuple(term.split(" ")) for term in entries["word"] if " " in term}
    return _Rules(
        words=frozenset(words),
        phrases=frozenset(phrases),
        heads=frozenset(phrase[0] for phrase in phrases),
        lengths=tuple(sorted({len(phrase) for phrase in phrases}, reverse=True)),
        product_ids=frozenset(entries["product_id"]),
        skus=frozenset(entries["sku"]),
    )


def _first_hit(tokens: list[str], rules: _Rules) -> str | None:
    """The leftmost banned term in ``tokens``; at one position the longest phrase wins."""
    if rules.words.isdisjoint(tokens) and rules.heads.isdisjoint(tokens):
        return None
    for index, token in enumerate(tokens):
        if token in rules.heads:
            for length in rules.lengths:
                gram = tuple(tokens[index : index + length])
                if len(gram) == length and gram in rules.phrases:
                    return " ".join(gram)
        if token in rules.words:
            return token
    return None


def _all_hits(tokens: list[str], rules: _Rules) -> list[str]:
    """Every banned term in ``tokens``, in order of position."""
    hits = []
    for index, token in enumerate(tokens):
        if token in rules.heads:
            hits += [" ".join(tokens[index : index + length]) for length in rules.lengths
                     if tuple(tokens[index : index + length]) in rules.phrases]
        if token in rules.words:
            hits.append(token)
    return hits


def _exact_value(value: object) -> str | None:
    """A product id or SKU as compared with ban entries: stripped text; ints as text."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _key(term: str, kind: BanKind) -> str:
    if kind not in _KINDS:
        raise InvalidInputError(f"unknown ban kind {kind!r}; use one of {', '.join(_KINDS)}")
    if kind == "word":
        return normalize_term(term)
    key = term.strip()
    if not key:
        raise InvalidInputError(f"ban {kind} {term!r} is empty; give a non-blank {kind}")
    return key


class BanList:
    """The live set of ban entries; one thread may edit it while others match products.

    Copy-on-write: every edit builds a new immutable snapshot under a lock and swaps it in with
    one assignment, so :meth:`match` reads a consistent snapshot without taking the lock.
    """

    def __init__(self) -> None:
        """Create an empty ban list."""
        self._lock = threading.Lock()
        self._entries: dict[BanKind, set[str]] = {kind: set() for kind in _KINDS}
        self._rules = _Rules()
        self.generation = 0  # bumped by every change, so followers notice one cheaply

    def add(self, term: str, kind: BanKind = "word") -> str:
        """Ban ``term``; adding an entry that is already there changes nothing.

        Args:
            term: a word or phrase, a product id or a SKU.
            kind: which of the three the term is.

        Returns:
            The normalized key the entry is stored under (see :func:`normalize_term`; ids and
            SKUs are only stripped).

        Raises:
            InvalidInputError: the term is blank (has no letters or digits) or the kind is unknown.
        """
        key = _key(term, kind)
        with self._lock:
            if key not in self._entries[kind]:
                self._entries[kind].add(key)
                self._rules = _build_rules(self._entries)
                self.generation += 1
        return key

    def remove(self, term: str, kind: BanKind = "word") -> bool:
        """Lift the ban on ``term``, normalized as :meth:`add` does.

        Args:
            term: the entry to remove, in any spelling that normalizes to the stored key.
            kind: which of the three kinds the entry is.

        Returns:
            ``True`` if the entry was there, ``False`` if there was nothing to remove.

        Raises:
            InvalidInputError: the term is blank or the kind is unknown.
        """
        key = _key(term, kind)
        with self._lock:
            if key not in self._entries[kind]:
                return False
            self._entries[kind].discard(key)
            self._rules = _build_rules(self._entries)
            self.generation += 1
        return True

    def entries(self) -> frozenset[tuple[BanKind, str]]:
        """Every entry as ``(kind, normalized term)``."""
        with self._lock:
            return frozenset((kind, term) for kind, terms in self._entries.items()
                             for term in terms)

    def could_match(self, product_id: str, sku: str | None, words: tuple[str, ...]) -> bool:
        """Whether some entry may match a product with these id, SKU and :func:`match_words`;
        False is certain, True is only worth a full :meth:`match`."""
        rules = self._rules
        return (product_id in rules.product_ids or (sku is not None and sku in rules.skus)
                or not rules.words.isdisjoint(words) or not rules.heads.isdisjoint(words))

    def terms(self, kind: BanKind) -> list[str]:
        """Return the normalized entries of one kind, sorted."""
        rules = self._rules
        if kind == "word":
            return sorted([*rules.words, *(" ".join(phrase) for phrase in rules.phrases)])
        if kind == "product_id":
            return sorted(rules.product_ids)
        if kind == "sku":
            return sorted(rules.skus)
        raise InvalidInputError(f"unknown ban kind {kind!r}; use one of {', '.join(_KINDS)}")

    def __len__(self) -> int:
        """Return the number of entries of all kinds."""
        rules = self._rules
        return sum(map(len, (rules.words, rules.phrases, rules.product_ids, rules.skus)))

    def match(self, product: Mapping[str, Any]) -> BanMatch | None:
        """Return the first ban entry that matches ``product``, or ``None`` if none does.

        Order: product id, SKU, then words and phrases field by field (name, description,
        brand, category, tags, specifications); within a field the leftmost term wins, and at
        one position the longest phrase.

        Args:
            product: a product document; missing or ``None`` fields simply cannot match.

        Returns:
            The match, or ``None`` when the product may be shown.
        """
        rules = self._rules  # one read: edits swap in a new snapshot, never change this one
        exact: tuple[tuple[BanKind, frozenset[str]], ...] = (
            ("product_id", rules.product_ids),
            ("sku", rules.skus),
        )
        for kind, entries in exact:
            value = _exact_value(product.get(kind)) if entries else None
            if value is not None and value in entries:
                return BanMatch(rule=kind, term=value, field=kind)
        if not rules.words and not rules.phrases:
            return None
        fields = _text_fields(product)
        # Fold all fields in one call: most products match nothing and leave here.
        folded = _fold(_FIELD_SEP.join(text for _, text in fields))
        if _first_hit(_WORD_RE.findall(folded), rules) is None:
            return None
        parts = folded.split(_FIELD_SEP)
        if len(parts) != len(fields):  # some field contained the separator itself
            parts = [_fold(text) for _, text in fields]
        for (label, _), part in zip(fields, parts, strict=True):
            term = _first_hit(_WORD_RE.findall(part), rules)
            if term is not None:
                return BanMatch(rule="word", term=term, field=label)
        return None

    def assess(self, product: Mapping[str, Any]
               ) -> tuple[tuple[BanMatch, ...], tuple[str, ...]]:
        """:meth:`matches` and :func:`match_words` of ``product`` from one folding of its text
        (the filter needs both for every product)."""
        rules = self._rules
        folded = _fold(_FIELD_SEP.join(text for _, text in _text_fields(product)))
        tokens = _WORD_RE.findall(folded)
        words = tuple(sorted(set(tokens)))
        exact_hit = ((rules.product_ids or rules.skus)
                     and self.could_match(str(_exact_value(product.get("product_id"))),
                                          _exact_value(product.get("sku")), ()))
        if not exact_hit and _first_hit(tokens, rules) is None:
            return (), words
        return self.matches(product), words

    def matches(self, product: Mapping[str, Any]) -> tuple[BanMatch, ...]:
        """Every entry that matches ``product`` (each once, at its first field), in
        :meth:`match` order; empty when the product may be shown."""
        first = self.match(product)
        if first is None:
            return ()
        rules = self._rules
        found = {first.term: first}
        for kind in ("product_id", "sku"):
            value = _exact_value(product.get(kind))
            if value is not None and value in (rules.product_ids if kind == "product_id"
                                               else rules.skus):
                found.setdefault(value, BanMatch(rule=kind, term=value, field=kind))
        for label, text in _text_fields(product):
            for term in _all_hits(_WORD_RE.findall(_fold(text)), rules):
                found.setdefault(term, BanMatch(rule="word", term=term, field=label))
        return tuple(found.values())
