"""Checks of ``products_by_category`` against the products it is built from, without Kafka.

What a row promises (:mod:`pokupai_lib.recommendations.category_rows`): ``PRODUCT_COUNT``
equals the number of live products of the category; every name it shows is the name of a live
product of the category; it shows at most N names, and exactly min(N, count) while no product
has left the category (only leaves can take entries from the buffer that no older member
replaces). :func:`pokupai_lib.recommendations.checks.category_mismatches` runs these checks on
the real topics.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pokupai_lib.recommendations.rules import judge_product, record_key

__all__ = ["LiveProducts", "category_problems", "live_products"]


@dataclass
class LiveProducts:
    """The live products of each category, and the categories some product has left."""

    names: dict[str, Counter[str]] = field(default_factory=dict)
    left: set[str] = field(default_factory=set)


def _accepted(key: bytes | None, value: bytes | None) -> tuple[str, Any] | None:
    """``(product id, product or None)`` as the recommender takes the record; None if it
    dead-letters it (the product then stays as it was). Judged without the search terms,
    which only cost time here."""
    try:
        text_key = None if key is None else key.decode("utf-8", "surrogateescape")
        return str(record_key(text_key, "product", required=True)), judge_product(value)
    except Exception:  # noqa: BLE001 - the recommender dead-letters whatever fails here
        return None


def live_products(records: Iterable[tuple[bytes | None, bytes | None]]) -> LiveProducts:
    """Replay ``primary.shop-clear`` (``(key, value)`` in each key's order) as the recommender
    does: each product by the last version it accepted, a tombstone removing it."""
    current: dict[str, dict[str, Any]] = {}
    live = LiveProducts()
    for key, value in records:
        accepted = _accepted(key, value)
        if accepted is None:
            continue
        pid, product = accepted
        old = current.pop(pid, None)
        if product is not None:
            current[pid] = product
        if old is not None and (product is None or product["category"] != old["category"]):
            live.left.add(old["category"])
    for product in current.values():
        live.names.setdefault(product["category"], Counter())[product["name"]] += 1
    return live


def _row_problem(row: dict[str, Any] | None, names: Counter[str], may_show_fewer: bool,
                 shown: int) -> str | None:
    count = sum(names.values())
    if row is None:
        return f"no row for {count} live products" if count else None
    if row.get("PRODUCT_COUNT") != count:
        return f"PRODUCT_COUNT {row.get('PRODUCT_COUNT')} but {count} live products"
    listed = row.get("ALL_PRODUCTS") or []
    stray = Counter(listed) - names
    if stray:
        return f"shows {sorted(stray)}, not live products of it"
    if row.get("PRODUCTS_CSV") != ", ".join(listed):
        return "PRODUCTS_CSV is not ALL_PRODUCTS joined by ', '"
    expected = min(shown, count)
    if len(listed) > expected or (len(listed) < expected and not may_show_fewer):
        return f"shows {len(listed)} names, not min(N={shown}, {count}) = {expected}"
    return None


def category_problems(live: LiveProducts, rows: dict[str, dict[str, Any]],
                      shown: int) -> dict[str, str]:
    """What is wrong with each category's row (category → problem); empty when all keep
    their promise.

    Parameters:
        live: what :func:`live_products` found.
        rows: the latest ``products_by_category`` row of each category (no tombstones).
        shown: N, the most names a row shows.
    """
    problems = {}
    for category in sorted(live.names.keys() | rows.keys()):
        problem = _row_problem(rows.get(category), live.names.get(category, Counter()),
                               category in live.left, shown)
        if problem is not None:
            problems[category] = problem
    return problems
