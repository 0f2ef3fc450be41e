"""What a ``products_by_category`` row shows, and the bounded state of a category behind it.

A row is ``{CATEGORY, ALL_PRODUCTS, PRODUCT_COUNT, PRODUCTS_CSV}``: ``PRODUCT_COUNT`` is the
exact number of live products in the category; ``ALL_PRODUCTS`` (and ``PRODUCTS_CSV``, the same
names joined by ", ") holds at most N names (``RecommenderConfig.shown_per_category``): the
newest live products of the category, newest first. *Newest* is by the last time a product
joined the category or was renamed, in the order the recommender saw those changes.

A category's state never grows with its products: ``{"count": n, "recent": [[id, name], ...]}``

* ``count`` is exact: +1 on a join, -1 on a leave, nothing on a rename
  (:func:`pokupai_lib.recommendations.rules.product_changes` tells them apart from a product's
  previous version);
* ``recent`` is a buffer of at most 2N members, newest first: a join or a rename puts the
  product in front (dropping its older entry), a leave removes its entry, and when the buffer
  is full the oldest entry falls off.

So every name a row shows is a live product of its category. What the buffer cannot do is
bring back a member it has let go: when products leave, their entries go and no older member
takes their place. The row shows min(N, count) names as long as no more than N of the buffered
members have left since they were buffered; after more leaves it shows fewer (none if all the
buffered ones left) until new joins or renames fill the buffer again, while ``PRODUCT_COUNT``
stays right.
"""

from __future__ import annotations

from typing import Any

from pokupai_lib.recommendations.rules import CategoryRow, ProductChange

__all__ = ["CategoryState", "apply_member_change", "category_row"]

CategoryState = dict[str, Any]


def _buffer_size(shown: int) -> int:
    return 2 * shown


def apply_member_change(state: CategoryState | None, change: ProductChange, category: str,
                        shown: int) -> tuple[CategoryState | None, CategoryRow | None]:
    """A category's state after one membership change, and its ``products_by_category`` row.

    Parameters:
        state: the category's state (None: no live product yet).
        change: a ``member`` change of ``product_changes`` (``change`` is ``join``, ``leave``
            or ``rename``; ``pid`` the product id; ``name`` None on a leave).
        category: the category, for the row.
        shown: N, how many names a row shows.

    Returns:
        The new state and row; both None when the category has no live product left (the row
        None is the table's tombstone).
    """
    count = (state or {}).get("count", 0)
    recent = [entry for entry in (state or {}).get("recent", []) if entry[0] != change["pid"]]
    if change["change"] == "join":
        count += 1
    elif change["change"] == "leave":
        count -= 1
    if change["change"] != "leave":
        recent = [[change["pid"], change["name"]], *recent][:_buffer_size(shown)]
    if count <= 0:
        return None, None
    new_state = {"count": count, "recent": recent}
    return new_state, category_row(new_state, category, shown)


def category_row(state: CategoryState, category: str, shown: int) -> CategoryRow:
    """The ``products_by_category`` row of a category's state: its exact count and the first
    ``shown`` names of its buffer."""
    names = [name for _, name in state["recent"][:shown]]
    return {"CATEGORY": category, "ALL_PRODUCTS": names, "PRODUCT_COUNT": state["count"],
            "PRODUCTS_CSV": ", ".join(names)}
