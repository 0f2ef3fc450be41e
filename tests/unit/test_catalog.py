"""The product generator: valid, deterministic, banned words where the metadata says."""

from __future__ import annotations

import io
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from fastavro import schemaless_reader, schemaless_writer

from pokupai_lib.ingest.catalog import (
    DEFAULT_BANNED_WORDS,
    Catalog,
    generate_catalog,
    generate_products,
    write_shop_files,
)
from pokupai_lib.schema.product import parsed_schema, validate_product

SIX_CATEGORIES = {"Электроника", "Красота", "Бытовая техника", "Одежда", "Книги", "Дом и сад"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(2000, seed=7)


def _normalize(text: str) -> str:
    return text.casefold().replace("ё", "е")


def _texts(product: dict[str, Any]) -> list[str]:
    """The fields the design's ban rules search."""
    return [product["name"], product["description"], product["brand"], product["category"],
            *product["tags"], *product["specifications"].values()]


_BANNED = re.compile("|".join(rf"(?<!\w){re.escape(_normalize(w))}(?!\w)"
                              for w in DEFAULT_BANNED_WORDS))


def _carries_banned_word(product: dict[str, Any]) -> bool:
    return any(_BANNED.search(_normalize(text)) for text in _texts(product))


def test_every_product_is_valid(catalog: Catalog) -> None:
    problems = {p["product_id"]: validate_product(p) for p in catalog.products}
    assert {pid: found for pid, found in problems.items() if found} == {}


def test_avro_round_trip_gives_the_product_back(catalog: Catalog) -> None:
    schema = parsed_schema()
    for product in catalog.products:
        buffer = io.BytesIO()
        schemaless_writer(buffer, schema, product)
        buffer.seek(0)
        assert schemaless_reader(buffer, schema, None) == product


def test_same_seed_same_products_and_global_random_untouched() -> None:
    state = random.getstate()
    assert generate_catalog(300, seed=3) == generate_catalog(300, seed=3)
    assert random.getstate() == state


def test_different_seed_different_products() -> None:
    assert generate_products(300, seed=3) != generate_products(300, seed=4)


def test_generate_products_is_the_catalogs_list() -> None:
    assert generate_products(50, seed=9) == generate_catalog(50, seed=9).products


def test_ids_and_skus_are_unique(catalog: Catalog) -> None:
    assert len({p["product_id"] for p in catalog.products}) == 2000
    assert len({p["sku"] for p in catalog.products}) == 2000
    assert all(re.fullmatch(r"[A-Z]{3}-\d{5,}", p["sku"]) for p in catalog.products)


def test_banned_share_is_respected(catalog: Catalog) -> None:
    assert abs(len(catalog.banned_ids) - 200) <= 40
    assert generate_catalog(100, banned_share=0).banned_ids == set()
    assert len(generate_catalog(100, banned_share=1).banned_ids) == 100


def test_banned_ids_are_exactly_the_products_carrying_a_banned_word(catalog: Catalog) -> None:
    carrying = {p["product_id"] for p in catalog.products if _carries_banned_word(p)}
    assert carrying == catalog.banned_ids
    assert set(catalog.banned_fields) == catalog.banned_ids


def test_banned_words_come_in_varied_forms_and_places(catalog: Catalog) -> None:
    planted = " ".join(text for p in catalog.products if p["product_id"] in catalog.banned_ids
                       for text in _texts(p))
    assert "ЧЕНСОРЕД" in planted.replace("Ё", "Е")  # upper case
    forms = re.findall(r"ч[её]нсор[её]д", planted.casefold())
    assert any("ё" in form for form in forms) and any("ё" not in form for form in forms)
    assert re.search(r"[«\"(\[*—]\w+", planted)  # punctuation around a word
    assert set(catalog.banned_fields.values()) == {
        "name", "description", "brand", "tags", "specifications"}


def test_clean_products_contain_near_misses(catalog: Catalog) -> None:
    clean = " ".join(text for p in catalog.products if p["product_id"] not in catalog.banned_ids
                     for text in _texts(p)).casefold()
    assert re.search(r"\bбан\w+", clean)  # банан, бантом, бандана, банка: not the word бан


def test_all_six_categories_appear(catalog: Catalog) -> None:
    assert {p["category"] for p in catalog.products} == SIX_CATEGORIES


def test_products_look_like_the_design(catalog: Catalog) -> None:
    product = catalog.products[0]
    assert product["price"]["currency"] == "RUB"
    assert product["index"] == "products"
    assert re.fullmatch(r"store_\d{3}", product["store_id"])
    assert product["images"][0]["url"] == (
        f"https://example.com/images/{product['product_id']}.jpg")


def test_write_shop_files_writes_json_lines_per_store(tmp_path: Path) -> None:
    products = generate_products(100, seed=5)
    paths = write_shop_files(products, tmp_path / "shops")
    assert [p.name for p in paths] == ["store_001.jsonl", "store_002.jsonl", "store_003.jsonl"]
    read: list[dict[str, Any]] = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert re.search("[а-яА-Я]", text) and "\\u0" not in text  # Cyrillic written as is
        lines = [json.loads(line) for line in text.splitlines()]
        assert {line["store_id"] for line in lines} == {path.stem}
        read.extend(lines)
    assert sorted(read, key=lambda p: p["product_id"]) == products


def test_write_shop_files_refuses_unsafe_store_ids(tmp_path: Path) -> None:
    product = generate_products(1)[0] | {"store_id": "../elsewhere"}
    with pytest.raises(ValueError, match="store_id"):
        write_shop_files([product], tmp_path)


@pytest.mark.parametrize("arguments", [
    {"count": -1}, {"count": 10, "banned_share": 1.5}, {"count": 10, "banned_words": ()},
    {"count": 10, "banned_words": ("часы",)}, {"count": 10, "stores": 0},
])
def test_bad_arguments_are_refused(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        generate_catalog(**arguments)
