"""What the recommender computes, as plain functions over plain values (no Kafka, no Quix).

The MVP's ksqlDB logic, improved:

* a search and a category match when their *match keys* are equal: the words folded exactly as
  the ban rules fold them (case, ``ё``, NFKC, stress marks), then Snowball-stemmed, so «Красоту»,
  «красота» and « КРАСОТЫ » all find the category «Красота»;
* when the term is not a category, the category of the products the search would find is used:
  the one with the most products whose name or tags contain the term («часы» →
  Электроника). Ties go to the alphabetically first category;
* a product counts once in its category however often it is re-published, moves when its
  category changes, and leaves with its tombstone;
* a record is judged up front, types and lengths included, so the stateful steps after it only
  ever see well-formed values and a bad record cannot stop the app (it is dead-lettered).

:mod:`pokupai_lib.recommendations.app` wires these functions into a Quix Streams topology; each one
gets the previous state and returns the new state plus what to emit.
"""

from __future__ import annotations

import functools
import re
import zlib
from typing import Any, Literal

import orjson
import snowballstemmer

from pokupai_lib.bans.rules import folded_words
from pokupai_lib.errors import InvalidInputError

__all__ = ["MAX_CATEGORY_CHARS", "MAX_CLIENT_CHARS", "MAX_NAME_CHARS", "MAX_SEARCH_CHARS",
           "MAX_TAGS", "MAX_TAG_CHARS", "CategoryRow", "Invalid", "MatchKind", "MemberChange",
           "ProductChange", "TermIndex", "apply_term_change", "build_recommendation",
           "judge_product", "match_key", "parse_product", "parse_search", "product_changes",
           "product_terms", "record_key", "resolve_category", "term_batches", "term_bucket"]

MatchKind = Literal["category", "word", "none"]
MemberChange = Literal["join", "leave", "rename"]
ProductChange = dict[str, Any]
CategoryRow = dict[str, Any]
TermIndex = dict[str, dict[str, int]]

# Longest texts a record may carry. Every value the app keeps or passes on (product state,
# category buffer, repartition records) is built from these, so they bound its size too.
MAX_NAME_CHARS = 500
MAX_CATEGORY_CHARS = 200
MAX_TAGS = 50
MAX_TAG_CHARS = 200
MAX_SEARCH_CHARS = 200
MAX_CLIENT_CHARS = 200
_MAX_KEY_CHARS = 200
_MAX_SEARCHED_AT_CHARS = 64

_STEMMERS = {"ru": snowballstemmer.stemmer("russian"), "en": snowballstemmer.stemmer("english")}
_CYRILLIC = re.compile("[а-я]")


class Invalid(InvalidInputError):
    """A record the recommender cannot use; the message goes to its dead-letter topic."""


@functools.lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    """The Snowball stem of a folded word. Cached: the stemmer is pure Python and took a
    quarter of the recommender's time under load, while a catalog's vocabulary is small."""
    return str(_STEMMERS["ru" if _CYRILLIC.search(word) else "en"].stemWord(word))


@functools.lru_cache(maxsize=50_000)
def match_key(text: str) -> str:
    """The form-insensitive key of a word or phrase: «Красоту» and «КРАСОТЫ» give «красот»."""
    return " ".join(_stem(word) for word in folded_words(text))


def product_terms(product: dict[str, Any]) -> list[str]:
    """Keys a product is found by: each stemmed word of its name and tags, and each whole tag
    phrase (so «умные часы» finds a product tagged «Умные часы»). Descriptions are left out:
    their words are many and common, and each term is a record through a repartition topic.

    ``product`` is one :func:`parse_product` accepted: a ``name`` string, ``tags`` a list of
    strings or absent."""
    tags: list[str] = product.get("tags") or []
    terms = {match_key(tag) for tag in tags}
    for text in [product["name"], *tags]:
        terms.update(_stem(word) for word in folded_words(text) if len(word) > 1)
    terms.discard("")
    return sorted(terms)


def _loads(raw: bytes, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"{what} is not JSON: {exc}") from None


def _text(value: Any, what: str, limit: int) -> str:
    """``value`` if it is a non-blank string of at most ``limit`` characters; Invalid if not."""
    if not isinstance(value, str):
        kind = "missing" if value is None else f"a JSON {_json_type(value)}, not a string"
        raise Invalid(f"{what} is {kind}")
    if not value.strip():
        raise Invalid(f"{what} is blank")
    if len(value) > limit:
        raise Invalid(f"{what} has {len(value)} characters, more than {limit}")
    return value


def _optional_text(value: Any, what: str, limit: int) -> str | None:
    return None if value is None else _text(value, what, limit)


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
             float: "number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _tags(value: Any) -> list[str]:
    """A product's tags: absent (or null) is none; otherwise a list of strings."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid(f"product tags is a JSON {_json_type(value)}, not an array of strings")
    if len(value) > MAX_TAGS:
        raise Invalid(f"product has {len(value)} tags, more than {MAX_TAGS}")
    for n, tag in enumerate(value):
        if not isinstance(tag, str):
            raise Invalid(f"product tag {n} is a JSON {_json_type(tag)}, not a string")
        if len(tag) > MAX_TAG_CHARS:
            raise Invalid(f"product tag {n} has {len(tag)} characters, more than "
                          f"{MAX_TAG_CHARS}")
    return value


def record_key(key: str | None, what: str, required: bool) -> str | None:
    """A record's key as text, judged like its value.

    The recommender reads keys with undecodable bytes kept as surrogate escapes, so a key that
    is not UTF-8 reaches this check instead of stopping the consumer.

    Raises:
        Invalid: no key where one is ``required`` (a blank optional key counts as none); a
            key that is not UTF-8 text, blank or longer than 200 characters.
    """
    if key is None or (not required and not key.strip()):
        if required:
            raise Invalid(f"{what} has no key")
        return None
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(f"{what} key is not UTF-8 text") from None
    return _text(key, f"{what} key", _MAX_KEY_CHARS)


def judge_product(raw: bytes | None) -> dict[str, Any] | None:
    """A product of ``primary.shop-clear`` as :func:`parse_product` judges it, without the
    search terms (the costly part): ``{category, name, tags}``; None for a tombstone.

    Raises:
        Invalid: as :func:`parse_product`.
    """
    if raw is None:
        return None
    product = _loads(raw, "product")
    if not isinstance(product, dict):
        raise Invalid(f"product is a JSON {_json_type(product)}, not an object")
    name = _text(product.get("name"), "product name", MAX_NAME_CHARS)
    category = _text(product.get("category"), "product category", MAX_CATEGORY_CHARS)
    tags = _tags(product.get("tags"))
    return {"category": category.strip(), "name": name, "tags": tags}


def parse_product(raw: bytes | None) -> dict[str, Any] | None:
    """A product of ``primary.shop-clear`` reduced to what the recommender keeps; None for a
    tombstone (the product was deleted or banned).

    Raises:
        Invalid: not a JSON object; ``name`` or ``category`` not a non-blank string;
            ``tags`` present but not a list of strings; a text longer than its limit
            (``MAX_*`` of this module).
    """
    judged = judge_product(raw)
    if judged is None:
        return None
    return {"category": judged["category"], "name": judged["name"],
            "terms": product_terms({"name": judged["name"], "tags": judged["tags"]})}


def parse_search(raw: bytes | None, key: str | None) -> dict[str, Any]:
    """A search event of ``primary.client-searches`` (``{id_client, word_search, searched_at}``).

    ``id_client`` comes from the value, else from the key; it may be a string or an integer.

    Raises:
        Invalid: a tombstone; not a JSON object; ``word_search`` not a string with a letter
            or digit; no ``id_client``; ``searched_at`` present but not a string; a text
            longer than its limit.
    """
    if raw is None:
        raise Invalid("search event is a tombstone (no value)")
    event = _loads(raw, "search event")
    if not isinstance(event, dict):
        raise Invalid(f"search event is a JSON {_json_type(event)}, not an object")
    word = _text(event.get("word_search"), "search event word_search", MAX_SEARCH_CHARS)
    if not match_key(word):
        raise Invalid("search event has no word_search with a letter or digit")
    client = event.get("id_client") or key
    if isinstance(client, int) and not isinstance(client, bool):
        client = str(client)
    if client is None:
        raise Invalid("search event has no id_client (neither in the value nor the key)")
    searched_at = _optional_text(event.get("searched_at"), "search event searched_at",
                                 _MAX_SEARCHED_AT_CHARS)
    return {"id_client": _text(client, "search event id_client", MAX_CLIENT_CHARS),
            "word_search": word, "searched_at": searched_at, "key": match_key(word)}


def _entries(product: dict[str, Any] | None) -> set[tuple[str, str, str]]:
    """(match key, category, kind) entries a product contributes to the term index."""
    if product is None:
        return set()
    category = product["category"]
    return ({(match_key(category), category, "category")}
            | {(term, category, "word") for term in product["terms"]})


def product_changes(old: dict[str, Any] | None, new: dict[str, Any] | None,
                    product_id: str) -> list[ProductChange]:
    """What changed between two versions of one product: category membership and ±1 on term
    index entries. Identical versions give nothing.

    A membership change says which it is, from the two versions: ``join`` (new in the
    category: a new product or one that moved in), ``leave`` (tombstone or moved out; its
    ``name`` is None) or ``rename`` (same category, new name), so a category can keep an exact
    count without keeping its members."""
    out: list[ProductChange] = []
    moved = bool(old and new and new["category"] != old["category"])
    if old and (new is None or moved):
        out.append(_member("leave", old["category"], product_id, None))
    if new and (old is None or moved):
        out.append(_member("join", new["category"], product_id, new["name"]))
    elif new and old and new["name"] != old["name"]:
        out.append(_member("rename", new["category"], product_id, new["name"]))
    before, after = _entries(old), _entries(new)
    for delta, entries in ((-1, before - after), (1, after - before)):
        out += [{"kind": "term", "term": term, "category": category, "match": kind,
                 "delta": delta} for term, category, kind in sorted(entries)]
    return out


def _member(change: MemberChange, category: str, product_id: str,
            name: str | None) -> ProductChange:
    return {"kind": "member", "change": change, "category": category, "pid": product_id,
            "name": name}


def term_bucket(term: str, buckets: int) -> str:
    """The bucket of a term's index entry, the key of its records on the term hop: the same
    for every process and run (CRC-32, not Python's salted ``hash``)."""
    return str(zlib.crc32(term.encode("utf-8", "surrogatepass")) % buckets)


def term_batches(changes: list[ProductChange], buckets: int) -> list[ProductChange]:
    """A product's term changes, one ``{"kind": "terms", "bucket", "changes"}`` record per
    bucket they fall in, in bucket order; membership changes are left out."""
    by_bucket: dict[str, list[ProductChange]] = {}
    for change in changes:
        if change["kind"] == "term":
            by_bucket.setdefault(term_bucket(change["term"], buckets), []).append(change)
    return [{"kind": "terms", "bucket": bucket, "changes": batch}
            for bucket, batch in sorted(by_bucket.items())]


def apply_term_change(index: TermIndex, change: ProductChange) -> TermIndex | None:
    """A term's ``{"category": {category: n}, "word": {category: n}}`` after ±1; None when
    no live product gives the term any more."""
    index = {kind: dict(index.get(kind, {})) for kind in ("category", "word")}
    bucket = index[change["match"]]
    count = bucket.get(change["category"], 0) + change["delta"]
    if count > 0:
        bucket[change["category"]] = count
    else:
        bucket.pop(change["category"], None)
    return index if index["category"] or index["word"] else None


def resolve_category(search: dict[str, Any], index: TermIndex | None) -> dict[str, Any]:
    """The search with its category: a category named by the term wins; otherwise the category
    with the most products containing the term."""
    for kind in ("category", "word"):
        candidates = (index or {}).get(kind) or {}
        if candidates:
            category = min(candidates, key=lambda c: (-candidates[c], c))
            return {**search, "category": category, "match": kind}
    return {**search, "category": None, "match": "none"}


def build_recommendation(search: dict[str, Any], row: CategoryRow | None) -> dict[str, Any]:
    """The ``SEARCHES_WITH_PRODUCTS`` row, with the MVP's field names (and two extras: how the
    category was found and when the client searched)."""
    row = row or {}
    match: MatchKind = search["match"] if row else "none"
    return {
        "CLIENT_ID": search["id_client"],
        "SEARCH_TERM": search["word_search"],
        "MATCHED_CATEGORY": row.get("CATEGORY"),
        "PRODUCTS_IN_CATEGORY": row.get("PRODUCTS_CSV"),
        "TOTAL_PRODUCTS": row.get("PRODUCT_COUNT"),
        "ALL_PRODUCTS_ARRAY": row.get("ALL_PRODUCTS"),
        "MATCH_TYPE": match,
        "SEARCHED_AT": search.get("searched_at"),
    }
