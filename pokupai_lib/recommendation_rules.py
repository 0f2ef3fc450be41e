"""What the recommender computes, as plain functions over plain values (no Kafka, no Quix).

The MVP's ksqlDB logic, improved:

* a search and a category match when their *match keys* are equal: the words folded exactly as
  the ban rules fold them (case, ``ё``, NFKC, stress marks), then Snowball-stemmed, so «Красоту»,
  «красота» and « КРАСОТЫ » all find the category «Красота»;
* when the term is not a category, the category of the products the search would find is used:
  the one with the most products whose name or tags contain the term («часы» →
  Электроника). Ties go to the alphabetically first category;
* a product counts once in its category however often it is re-published, moves when its
  category changes, and leaves with its tombstone.

:mod:`pokupai_lib.recommender_app` wires these functions into a Quix Streams topology; each one
gets the previous state and returns the new state plus what to emit.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import orjson
import snowballstemmer

from pokupai_lib.ban_rules import folded_words

__all__ = ["CategoryRow", "Invalid", "MatchKind", "ProductChange", "TermIndex",
           "apply_member_change", "apply_term_change", "build_recommendation", "match_key",
           "parse_product", "parse_search", "product_changes", "product_terms",
           "resolve_category"]

MatchKind = Literal["category", "word", "none"]
ProductChange = dict[str, Any]
CategoryRow = dict[str, Any]
TermIndex = dict[str, dict[str, int]]

_STEMMERS = {"ru": snowballstemmer.stemmer("russian"), "en": snowballstemmer.stemmer("english")}
_CYRILLIC = re.compile("[а-я]")


class Invalid(ValueError):
    """A record the recommender cannot use; the message goes to its dead-letter topic."""


def _stem(word: str) -> str:
    return str(_STEMMERS["ru" if _CYRILLIC.search(word) else "en"].stemWord(word))


def match_key(text: str) -> str:
    """The form-insensitive key of a word or phrase: «Красоту» and «КРАСОТЫ» give «красот»."""
    return " ".join(_stem(word) for word in folded_words(text))


def product_terms(product: dict[str, Any]) -> list[str]:
    """Keys a product is found by: each stemmed word of its name and tags, and each whole tag
    phrase (so «умные часы» finds a product tagged «Умные часы»). Descriptions are left out:
    their words are many and common, and each term is a record through a repartition topic."""
    tags = [t for t in product.get("tags") or [] if isinstance(t, str)]
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


def parse_product(raw: bytes | None) -> dict[str, Any] | None:
    """A product of ``primary.shop-clear`` reduced to what the recommender keeps; None for a
    tombstone (the product was deleted or banned)."""
    if raw is None:
        return None
    product = _loads(raw, "product")
    if not isinstance(product, dict):
        raise Invalid(f"product is a JSON {type(product).__name__}, not an object")
    missing = [f for f in ("name", "category") if not isinstance(product.get(f), str)
               or not product[f].strip()]
    if missing:
        raise Invalid(f"product has no {' or '.join(missing)}")
    return {"category": product["category"].strip(), "name": product["name"],
            "terms": product_terms(product)}


def parse_search(raw: bytes | None, key: str | None) -> dict[str, Any]:
    """A search event of ``primary.client-searches`` (``{id_client, word_search, searched_at}``)."""
    if raw is None:
        raise Invalid("search event is a tombstone (no value)")
    event = _loads(raw, "search event")
    if not isinstance(event, dict):
        raise Invalid(f"search event is a JSON {type(event).__name__}, not an object")
    word, client = event.get("word_search"), event.get("id_client") or key
    if not isinstance(word, str) or not match_key(word):
        raise Invalid("search event has no word_search with a letter or digit")
    if not isinstance(client, str | int) or not str(client).strip():
        raise Invalid("search event has no id_client (neither in the value nor the key)")
    return {"id_client": str(client), "word_search": word,
            "searched_at": event.get("searched_at"), "key": match_key(word)}


def _entries(product: dict[str, Any] | None) -> set[tuple[str, str, str]]:
    """(match key, category, kind) entries a product contributes to the term index."""
    if product is None:
        return set()
    category = product["category"]
    return ({(match_key(category), category, "category")}
            | {(term, category, "word") for term in product["terms"]})


def product_changes(old: dict[str, Any] | None, new: dict[str, Any] | None,
                    product_id: str) -> list[ProductChange]:
    """What changed between two versions of one product: category membership (a ``name`` of
    None leaves the category) and ±1 on term index entries. Identical versions give nothing."""
    out: list[ProductChange] = []
    if old and (new is None or new["category"] != old["category"]):
        out.append({"kind": "member", "category": old["category"], "pid": product_id,
                    "name": None})
    if new and (old is None or (new["category"], new["name"]) != (old["category"], old["name"])):
        out.append({"kind": "member", "category": new["category"], "pid": product_id,
                    "name": new["name"]})
    before, after = _entries(old), _entries(new)
    for delta, entries in ((-1, before - after), (1, after - before)):
        out += [{"kind": "term", "term": term, "category": category, "match": kind,
                 "delta": delta} for term, category, kind in sorted(entries)]
    return out


def apply_member_change(members: dict[str, str], change: ProductChange,
                        category: str) -> tuple[dict[str, str], CategoryRow | None]:
    """The category's ``{product_id: name}`` after a change, and its ``products_by_category``
    row (None when the category is empty: a tombstone)."""
    members = dict(members)
    if change["name"] is None:
        members.pop(change["pid"], None)
    else:
        members[change["pid"]] = change["name"]
    if not members:
        return members, None
    names = list(members.values())
    return members, {"CATEGORY": category, "ALL_PRODUCTS": names, "PRODUCT_COUNT": len(names),
                     "PRODUCTS_CSV": ", ".join(names)}


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
