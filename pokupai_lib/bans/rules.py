"""Ban rules: which products the filter hides, and which entry of the ban list hid them.

A :class:`BanList` holds three kinds of entries: words and phrases, searched as whole words in
all their inflected forms in a product's text fields, and product ids and SKUs, compared exactly
(after stripping whitespace).

Ban terms and product text are folded the same way (:mod:`pokupai_lib.bans.folding`: Unicode
normalization, case, ``ё`` = ``е``, default-ignorables dropped, every kind of space and
punctuation a separator, look-alikes from other scripts resolved by UTS #39 skeletons). A banned
word stands for the forms of its lexemes (:mod:`pokupai_lib.bans.word_forms`): «бан» bans «баны»,
not «баня» or «банан». Entries are expanded once, when added (:mod:`pokupai_lib.bans.word_index`),
so matching a product is set lookups.

Matching is hand-written on ``re`` and sets because multi-pattern libraries (Aho-Corasick and
the like) match substrings, not whole words in all their forms.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pokupai_lib.bans.folding import (
    fold,
    fold_cp1251,
    folded_words,
    is_mixed_script,
    may_mix_scripts,
    skeleton,
    split_words,
)
from pokupai_lib.bans.word_index import WordIndex, WordRules
from pokupai_lib.errors import InvalidInputError

__all__ = ["BanKind", "BanList", "BanMatch", "folded_words", "match_words", "normalize_term",
           "product_text_fields"]

BanKind = Literal["word", "product_id", "sku"]

_KINDS: tuple[BanKind, ...] = get_args(BanKind)
_TEXT_FIELDS = ("name", "description", "brand", "category", "tags", "specifications")
# Joins a product's fields so they are folded in one call; a control character is an NFKC
# starter, so no composition crosses it, and it is never part of a word.
_FIELD_SEP = "\x1f"
# Marks the skeleton of a mixed-script word among a product's words (never part of a word).
_SKELETON = "\x00"


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
    """What word bans see of ``product``, kept to find what a later entry hits: the distinct
    folded words of its text fields, and the marked skeletons of its mixed-script ones (in no
    particular order)."""
    return _words_of(*fold_cp1251(_FIELD_SEP.join(text for _, text in _text_fields(product))))


def _words_of(folded: str, encoded: bytes) -> tuple[str, ...]:
    # Interned: the filter keeps every product's words, and a catalog repeats a few hundred
    # words across all its products, so each is kept once.
    words = set(split_words(folded))
    if may_mix_scripts(encoded):
        words |= {_SKELETON + skeleton(w) for w in words if is_mixed_script(w)}
    return tuple(map(sys.intern, words))


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
    for name in _TEXT_FIELDS:
        value = product.get(name)
        if isinstance(value, str):
            out.append((name, value))
        elif value is not None:
            _collect(name, value, out)
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

    words: WordRules = field(default_factory=WordRules)
    product_ids: frozenset[str] = frozenset()
    skus: frozenset[str] = frozenset()


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
    one assignment, so :meth:`match` reads a consistent snapshot without taking the lock. Adding
    a word expands it to its forms (a millisecond or so the first time a word is seen).
    """

    def __init__(self) -> None:
        """Create an empty ban list."""
        self._lock = threading.Lock()
        self._entries: dict[BanKind, set[str]] = {kind: set() for kind in _KINDS}
        self._words = WordIndex()
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
                if kind == "word":
                    self._words.add(key)
                self._entries[kind].add(key)
                self._publish(kind)
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
            if kind == "word":
                self._words.remove(key)
            self._entries[kind].discard(key)
            self._publish(kind)
            self.generation += 1
        return True

    def entries(self) -> frozenset[tuple[BanKind, str]]:
        """Every entry as ``(kind, normalized term)``."""
        with self._lock:
            return frozenset((kind, term) for kind, terms in self._entries.items()
                             for term in terms)

    def could_match(self, key: bytes, sku: str | None, words: tuple[str, ...]) -> bool:
        """Whether some entry may match a product with this key (its id, as bytes), SKU and
        :func:`match_words`; False is certain, True is only worth a full :meth:`matches`.
        Meant for a small list (the entries just added) probed against many products."""
        rules = self._rules
        if rules.product_ids and key.decode("utf-8", "replace") in rules.product_ids:
            return True
        if sku is not None and sku in rules.skus:
            return True
        index = rules.words
        if not index.triggers.isdisjoint(words):
            return True
        return bool(index.skeleton_triggers) and any(
            word.startswith(_SKELETON) and word[1:] in index.skeleton_triggers
            for word in words)

    def _publish(self, kind: BanKind) -> None:
        """Swap in a snapshot with the entries of ``kind`` renewed (the lock is held)."""
        rules = self._rules
        if kind == "word":
            rules = _Rules(self._words.snapshot(), rules.product_ids, rules.skus)
        elif kind == "product_id":
            rules = _Rules(rules.words, frozenset(self._entries[kind]), rules.skus)
        else:
            rules = _Rules(rules.words, rules.product_ids, frozenset(self._entries[kind]))
        self._rules = rules

    def terms(self, kind: BanKind) -> list[str]:
        """Return the normalized entries of one kind, sorted."""
        rules = self._rules
        if kind == "word":
            words = rules.words
            return sorted([*words.words, *(" ".join(phrase) for phrase in words.phrases)])
        if kind == "product_id":
            return sorted(rules.product_ids)
        if kind == "sku":
            return sorted(rules.skus)
        raise InvalidInputError(f"unknown ban kind {kind!r}; use one of {', '.join(_KINDS)}")

    def __len__(self) -> int:
        """Return the number of entries of all kinds."""
        rules = self._rules
        return sum(map(len, (rules.words.words, rules.words.phrases, rules.product_ids,
                             rules.skus)))

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
        words = rules.words
        if not words:
            return None
        fields = _text_fields(product)
        # Fold all fields in one call: most products match nothing and leave here.
        folded, encoded = fold_cp1251(_FIELD_SEP.join(text for _, text in fields))
        if not words.may_hit(folded, encoded):
            return None
        parts = folded.split(_FIELD_SEP)
        if len(parts) != len(fields):  # some field contained the separator itself
            parts = [fold(text) for _, text in fields]
        for (label, _), part in zip(fields, parts, strict=True):
            term = words.first_hit(part)
            if term is not None:
                return BanMatch(rule="word", term=term, field=label)
        return None

    def assess(self, product: Mapping[str, Any]
               ) -> tuple[tuple[BanMatch, ...], tuple[str, ...]]:
        """:meth:`matches` and :func:`match_words` of ``product`` from one folding of its text
        (the filter needs both for every product)."""
        rules = self._rules
        folded, encoded = fold_cp1251(_FIELD_SEP.join(t for _, t in _text_fields(product)))
        words = _words_of(folded, encoded)  # one split serves both (it was a third of this)
        exact_hit = (rules.product_ids or rules.skus) and any(
            value is not None and value in entries
            for value, entries in ((_exact_value(product.get("product_id")), rules.product_ids),
                                   (_exact_value(product.get("sku")), rules.skus)))
        if not exact_hit and not (rules.words and rules.words.may_hit_words(words, encoded)):
            return (), words
        return self.matches(product), words

    def matches(self, product: Mapping[str, Any]) -> tuple[BanMatch, ...]:
        """Every entry that matches ``product``, each once at the first field it hits, in
        :meth:`match` order; empty when the product may be shown."""
        rules = self._rules
        found: dict[str, BanMatch] = {}
        exact: tuple[tuple[BanKind, frozenset[str]], ...] = (
            ("product_id", rules.product_ids), ("sku", rules.skus))
        for kind, entries in exact:
            value = _exact_value(product.get(kind))
            if value is not None and value in entries:
                found.setdefault(value, BanMatch(rule=kind, term=value, field=kind))
        if rules.words:
            for label, text in _text_fields(product):
                for term in rules.words.all_hits(fold(text)):
                    found.setdefault(term, BanMatch(rule="word", term=term, field=label))
        return tuple(found.values())
