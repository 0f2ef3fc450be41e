"""products_by_category rows: an exact count, the newest N live names, a state that stays
bounded however many products a category has."""

from __future__ import annotations

from typing import Any

import orjson

from pokupai_lib.recommendations.category_rows import (
    CategoryState,
    apply_member_change,
)

SHOWN = 3


def _change(change: str, pid: str, name: str | None = None) -> dict[str, Any]:
    return {"kind": "member", "change": change, "category": "Книги", "pid": pid, "name": name}


def _apply(state: CategoryState | None, *changes: dict[str, Any]
           ) -> tuple[CategoryState | None, dict[str, Any] | None]:
    row = None
    for change in changes:
        state, row = apply_member_change(state, change, "Книги", SHOWN)
    return state, row


def _joins(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [_change("join", f"p{n}", f"Книга {n}") for n in range(start, start + count)]


def test_a_row_counts_every_product_and_shows_the_newest_n_newest_first() -> None:
    _, row = _apply(None, *_joins(5))
    assert row == {"CATEGORY": "Книги", "ALL_PRODUCTS": ["Книга 4", "Книга 3", "Книга 2"],
                   "PRODUCT_COUNT": 5, "PRODUCTS_CSV": "Книга 4, Книга 3, Книга 2"}


def test_fewer_products_than_n_are_all_shown() -> None:
    _, row = _apply(None, *_joins(2))
    assert row is not None and row["ALL_PRODUCTS"] == ["Книга 1", "Книга 0"]


def test_forty_thousand_products_keep_the_state_and_the_row_small() -> None:
    state: CategoryState | None = None
    row = None
    for change in _joins(40_000):
        state, row = apply_member_change(state, change, "Книги", SHOWN)
    assert state is not None and row is not None
    assert row["PRODUCT_COUNT"] == 40_000 and len(row["ALL_PRODUCTS"]) == SHOWN
    assert len(state["recent"]) == 2 * SHOWN
    assert len(orjson.dumps(state)) < 300 and len(orjson.dumps(row)) < 300


def test_a_rename_keeps_the_count_and_shows_the_product_first_under_its_new_name() -> None:
    state, _ = _apply(None, *_joins(5))
    _, row = _apply(state, _change("rename", "p0", "Книга ноль"))
    assert row is not None and row["PRODUCT_COUNT"] == 5
    assert row["ALL_PRODUCTS"] == ["Книга ноль", "Книга 4", "Книга 3"]


def test_a_leave_removes_the_name_and_an_older_member_moves_up() -> None:
    state, _ = _apply(None, *_joins(5))
    _, row = _apply(state, _change("leave", "p4"))
    assert row is not None and row["PRODUCT_COUNT"] == 4
    assert row["ALL_PRODUCTS"] == ["Книга 3", "Книга 2", "Книга 1"]


def test_when_more_than_n_buffered_members_leave_the_row_shows_fewer_but_counts_right() -> None:
    state, _ = _apply(None, *_joins(10))  # buffer: p9..p4
    state, row = _apply(state, *[_change("leave", f"p{n}") for n in (9, 8, 7, 6)])
    assert row is not None and row["PRODUCT_COUNT"] == 6
    assert row["ALL_PRODUCTS"] == ["Книга 5", "Книга 4"]  # p3..p0 are live but forgotten
    _, row = _apply(state, *_joins(1, start=10))
    assert row is not None and row["ALL_PRODUCTS"] == ["Книга 10", "Книга 5", "Книга 4"]


def test_a_leave_of_a_member_no_longer_buffered_only_lowers_the_count() -> None:
    state, _ = _apply(None, *_joins(10))
    _, row = _apply(state, _change("leave", "p0"))
    assert row is not None and row["PRODUCT_COUNT"] == 9
    assert row["ALL_PRODUCTS"] == ["Книга 9", "Книга 8", "Книга 7"]


def test_the_last_one_out_empties_the_state_and_the_row_is_a_tombstone() -> None:
    state, _ = _apply(None, *_joins(2))
    state, row = _apply(state, _change("leave", "p0"), _change("leave", "p1"))
    assert state is None and row is None
