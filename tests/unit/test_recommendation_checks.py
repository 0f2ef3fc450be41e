"""The products_by_category check finds each way a row can break its promise."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from pokupai_lib.recommendations.row_checks import LiveProducts, category_problems, live_products

SHOWN = 2


def _record(pid: str, name: str | None, category: str = "Книги") -> tuple[bytes, bytes | None]:
    value = None if name is None else orjson.dumps({"name": name, "category": category})
    return pid.encode(), value


def _row(names: list[str], count: int, category: str = "Книги") -> dict[str, Any]:
    return {"CATEGORY": category, "ALL_PRODUCTS": names, "PRODUCT_COUNT": count,
            "PRODUCTS_CSV": ", ".join(names)}


def _live(*records: tuple[bytes, bytes | None]) -> LiveProducts:
    return live_products(records)


def test_products_are_taken_by_their_last_accepted_version() -> None:
    live = _live(_record("a", "Книга"), _record("b", "Словарь"), _record("b", None),
                 _record("c", "Атлас"), (b"c", b"{broken"), _record("d", "Чай", "Продукты"),
                 _record("d", "Чай", "Напитки"))
    assert live.names == {"Книги": {"Книга": 1, "Атлас": 1}, "Напитки": {"Чай": 1}}
    assert live.left == {"Книги", "Продукты"}


def test_a_row_that_keeps_its_promise_is_not_reported() -> None:
    live = _live(_record("a", "Книга"), _record("b", "Атлас"), _record("c", "Атлас"))
    assert category_problems(live, {"Книги": _row(["Атлас", "Книга"], 3)}, SHOWN) == {}


@pytest.mark.parametrize(("row", "problem"), [
    (None, "no row for 3 live products"),
    (_row(["Атлас", "Книга"], 2), "PRODUCT_COUNT 2 but 3"),
    (_row(["Атлас", "Словарь"], 3), "shows ['Словарь'], not live"),
    (_row(["Книга", "Книга"], 3), "shows ['Книга'], not live"),
    (_row(["Атлас"], 3), "shows 1 names, not min(N=2, 3) = 2"),
    (_row(["Атлас", "Книга", "Атлас"], 3), "shows 3 names"),
    ({**_row(["Атлас", "Книга"], 3), "PRODUCTS_CSV": "Атлас"}, "PRODUCTS_CSV"),
])
def test_each_broken_promise_is_reported(row: dict[str, Any] | None, problem: str) -> None:
    live = _live(_record("a", "Книга"), _record("b", "Атлас"), _record("c", "Атлас"))
    rows = {} if row is None else {"Книги": row}
    assert problem in category_problems(live, rows, SHOWN)["Книги"]


def test_a_row_for_a_category_without_live_products_is_reported() -> None:
    problems = category_problems(_live(), {"Книги": _row(["Книга"], 1)}, SHOWN)
    assert problems == {"Книги": "PRODUCT_COUNT 1 but 0 live products"}


def test_fewer_names_are_allowed_only_after_products_left_the_category() -> None:
    live = _live(_record("a", "Книга"), _record("b", "Атлас"), _record("c", "Словарь"),
                 _record("c", None))
    assert category_problems(live, {"Книги": _row(["Книга"], 2)}, SHOWN) == {}
