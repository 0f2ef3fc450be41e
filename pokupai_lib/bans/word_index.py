"""Word and phrase entries of a ban list, indexed by every form of every word.

Each entry (a normalized word or phrase) is made of *entry words*. Each entry word is expanded
once, when its first entry is added, to its forms (:func:`~pokupai_lib.bans.word_forms.word_forms`)
and their skeletons (:func:`~pokupai_lib.bans.folding.skeleton`); matching is then set lookups.
A product word stands for the entry words it is a form of; a mixed-script product word also for
those with a form of the same skeleton. A single-word entry matches a product word that stands
for it; a phrase matches consecutive product words that stand for its words in order, each in any
of its forms («поддельный товар» matches «поддельного товара»). Phrases are never expanded into
their combinations of forms, which could be many.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from types import MappingProxyType

from pokupai_lib.bans.folding import (
    cp1251,
    is_mixed_script,
    may_mix_scripts,
    skeleton,
    split_words,
)
from pokupai_lib.bans.word_forms import word_forms

__all__ = ["WordIndex", "WordRules"]

_NONE: frozenset[str] = frozenset()
Phrase = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WordRules:
    """A snapshot of the word and phrase entries, shaped for fast matching; read-only."""

    words: frozenset[str] = _NONE  # single-word entries
    phrases: frozenset[Phrase] = frozenset()
    # entry word -> the phrases it starts, longest first, then in sorted order
    by_head: Mapping[str, tuple[Phrase, ...]] = field(default_factory=dict)
    forms: Mapping[str, frozenset[str]] = field(default_factory=dict)  # form -> entry words
    skeletons: Mapping[str, frozenset[str]] = field(default_factory=dict)  # same, by skeleton
    triggers: AbstractSet[str] = _NONE  # forms of words that start an entry
    skeleton_triggers: AbstractSet[str] = _NONE  # their skeletons

    def __bool__(self) -> bool:
        """Whether there is any word or phrase entry."""
        return bool(self.words or self.phrases)

    def may_hit(self, folded: str, encoded: bytes) -> bool:
        """Whether :meth:`first_hit` can find anything in ``folded``; ``False`` for most
        products, quickly (one set test, and one :func:`may_mix_scripts` when that fails).

        Args:
            folded: folded text, as :func:`~pokupai_lib.bans.folding.fold_cp1251` gives it.
            encoded: the same text as it encodes it.
        """
        return self._may_hit(split_words(folded), encoded)

    def may_hit_words(self, words: Collection[str], encoded: bytes) -> bool:
        """:meth:`may_hit` for text already split into words (any order, repeats or not)."""
        return self._may_hit(words, encoded)

    def _may_hit(self, tokens: Collection[str], encoded: bytes) -> bool:
        if not self.triggers.isdisjoint(tokens):
            return True
        if not self.skeleton_triggers or not may_mix_scripts(encoded):
            return False
        return any(is_mixed_script(token) and skeleton(token) in self.skeleton_triggers
                   for token in tokens)

    def first_hit(self, folded: str) -> str | None:
        """The leftmost entry in ``folded``; at one position the longest phrase wins.

        Args:
            folded: the folded text of one field (:func:`~pokupai_lib.bans.folding.fold`).

        Returns:
            The entry (as normalized, not the form found), or ``None``.
        """
        tokens, encoded = split_words(folded), cp1251(folded)
        if not self._may_hit(tokens, encoded):
            return None
        mixed = bool(self.skeletons) and may_mix_scripts(encoded)
        stands_for = [self._entry_words(token, mixed) for token in tokens]
        for index, found in enumerate(stands_for):
            if not found:
                continue
            for phrase in self._phrases_from(found):
                end = index + len(phrase)
                if end <= len(tokens) and all(
                    word in stands_for[index + offset] for offset, word in enumerate(phrase)
                ):
                    return " ".join(phrase)
            hits = found & self.words
            if hits:
                return tokens[index] if tokens[index] in hits else min(hits)
        return None

    def all_hits(self, folded: str) -> list[str]:
        """Every entry in ``folded`` (as normalized), each once, in order of position."""
        tokens, encoded = split_words(folded), cp1251(folded)
        if not self._may_hit(tokens, encoded):
            return []
        mixed = bool(self.skeletons) and may_mix_scripts(encoded)
        stands_for = [self._entry_words(token, mixed) for token in tokens]
        hits: dict[str, None] = {}
        for index, found in enumerate(stands_for):
            if not found:
                continue
            for phrase in self._phrases_from(found):
                end = index + len(phrase)
                if end <= len(tokens) and all(
                    word in stands_for[index + offset] for offset, word in enumerate(phrase)
                ):
                    hits[" ".join(phrase)] = None
            for word in sorted(found & self.words):
                hits[word] = None
        return list(hits)

    def _entry_words(self, token: str, mixed: bool) -> frozenset[str]:
        found = self.forms.get(token, _NONE)
        if mixed and is_mixed_script(token):
            found = found | self.skeletons.get(skeleton(token), _NONE)
        return found

    def _phrases_from(self, found: frozenset[str]) -> list[Phrase]:
        heads = [self.by_head[word] for word in found if word in self.by_head]
        if len(heads) == 1:
            return list(heads[0])
        return sorted((p for phrases in heads for p in phrases), key=lambda p: (-len(p), p))


class WordIndex:
    """The mutable index behind :class:`WordRules`; not thread-safe for writers (``BanList``
    serializes them), safe for readers of its snapshots.

    Snapshots copy what is per entry (the entries, the phrases by head word) and share the
    tables that grow with the forms (forms, skeletons and triggers: tens of thousands of keys
    for a thousand entries, too many to copy at every edit). Those tables change in place one
    key at a time, each change one atomic dict or set operation, and only for the entry being
    added or removed. A new entry's words are linked before any snapshot lists the entry, so
    until then they cannot match; a removed entry's words are unlinked while the published
    snapshot may still list it, so each form still linked matches as before and each unlinked
    one as after. Either way a product matched meanwhile is judged as just before or just
    after the edit.
    """

    def __init__(self) -> None:
        """Create an empty index."""
        self._words: set[str] = set()
        self._phrases: set[Phrase] = set()
        self._uses: Counter[str] = Counter()  # entry word -> entries containing it
        self._starts: Counter[str] = Counter()  # entry word -> entries starting with it
        self._forms: dict[str, frozenset[str]] = {}
        self._skeletons: dict[str, frozenset[str]] = {}
        self._triggers: set[str] = set()
        self._skeleton_triggers: set[str] = set()

    def add(self, entry: str) -> None:
        """Index a normalized entry (words separated by single spaces) not yet indexed."""
        words = tuple(entry.split(" "))
        for word in set(words):
            self._uses[word] += 1
            if self._uses[word] == 1:
                self._link(word)
        self._starts[words[0]] += 1
        if self._starts[words[0]] == 1:
            forms, skeletons = _expand(words[0])
            self._triggers.update(forms)
            self._skeleton_triggers.update(skeletons)
        if len(words) == 1:
            self._words.add(entry)
        else:
            self._phrases.add(words)

    def remove(self, entry: str) -> None:
        """Drop an indexed entry."""
        words = tuple(entry.split(" "))
        if len(words) == 1:
            self._words.discard(entry)
        else:
            self._phrases.discard(words)
        self._starts[words[0]] -= 1
        if not self._starts[words[0]]:
            del self._starts[words[0]]
            self._untrigger(words[0])
        for word in set(words):
            self._uses[word] -= 1
            if not self._uses[word]:
                del self._uses[word]
                self._unlink(word)

    def snapshot(self) -> WordRules:
        """Return a snapshot for matching (see the class docstring for what it shares)."""
        by_head: dict[str, list[Phrase]] = {}
        for phrase in self._phrases:
            by_head.setdefault(phrase[0], []).append(phrase)
        return WordRules(
            words=frozenset(self._words),
            phrases=frozenset(self._phrases),
            by_head=MappingProxyType({head: tuple(sorted(phrases, key=lambda p: (-len(p), p)))
                                      for head, phrases in by_head.items()}),
            forms=MappingProxyType(self._forms),
            skeletons=MappingProxyType(self._skeletons),
            triggers=self._triggers,
            skeleton_triggers=self._skeleton_triggers,
        )

    def _link(self, word: str) -> None:
        forms, skeletons = _expand(word)
        for keys, table in ((forms, self._forms), (skeletons, self._skeletons)):
            for key in keys:
                table[key] = table.get(key, _NONE) | {word}

    def _unlink(self, word: str) -> None:
        forms, skeletons = _expand(word)
        for keys, table in ((forms, self._forms), (skeletons, self._skeletons)):
            for key in keys:
                left = table[key] - {word}
                if left:
                    table[key] = left
                else:
                    del table[key]

    def _untrigger(self, word: str) -> None:
        """Drop the triggers of a word that starts no entry now, unless another word that
        does shares them."""
        forms, skeletons = _expand(word)
        for keys, table, triggers in ((forms, self._forms, self._triggers),
                                      (skeletons, self._skeletons, self._skeleton_triggers)):
            for key in keys:
                if not any(other in self._starts for other in table.get(key, _NONE)):
                    triggers.discard(key)


def _expand(word: str) -> tuple[frozenset[str], frozenset[str]]:
    """An entry word's forms and their skeletons (both cached by the functions called)."""
    forms = word_forms(word)
    return forms, frozenset(skeleton(form) for form in forms)
