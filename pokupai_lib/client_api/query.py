"""Product search in Elasticsearch: the query built from structured input, hits as rows.

The user's text only ever becomes the value of a ``multi_match`` query's ``query`` field; it is
never pasted into query DSL, so no input can change the query's shape. Russian morphology is
Elasticsearch's job (the ``products`` index template's analyzer), not Python's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["FILTER_PATH", "SEARCH_FIELDS", "SearchHit", "hits_from_response", "search_body"]

# Name matters most, then tags and category, then brand and description.
SEARCH_FIELDS = ("name^3", "tags^2", "category.text^2", "brand.text", "description")
_SOURCE_FIELDS = ("product_id", "name", "price", "category", "brand", "store_id", "sku")


@dataclass(frozen=True)
class SearchHit:
    """One found product, as the client API returns it."""

    product_id: str
    name: str
    price: float | None
    currency: str | None
    category: str | None
    score: float


def search_body(text: str, size: int) -> dict[str, Any]:
    """The search request for ``text``: every word may match, best matches first."""
    return {
        "query": {"multi_match": {"query": text, "fields": list(SEARCH_FIELDS),
                                  "type": "best_fields", "operator": "or"}},
        "size": size,
        "_source": list(_SOURCE_FIELDS),
        "track_total_hits": True,
    }


# Only what hits_from_response reads: a smaller answer to parse on every search.
FILTER_PATH = ["took", "hits.total.value", "hits.hits._id", "hits.hits._score",
               "hits.hits._source"]


def hits_from_response(response: dict[str, Any]) -> tuple[int, list[SearchHit]]:
    """The total number of matches and the returned hits of a search response."""
    hits = response.get("hits", {})
    total = hits.get("total", {}).get("value", 0)
    found = []
    for hit in hits.get("hits", []):
        source = hit.get("_source", {})
        price = source.get("price") or {}
        found.append(SearchHit(
            product_id=str(source.get("product_id", hit.get("_id"))),
            name=str(source.get("name", "")),
            price=price.get("amount"),
            currency=price.get("currency"),
            category=source.get("category"),
            score=round(float(hit.get("_score") or 0.0), 4),
        ))
    return int(total), found
