"""The Avro Product schema files and ``validate_product``'s messages."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError

from pokupai_lib.ingest.catalog import example_product
from pokupai_lib.schema.product import (
    DEFAULT_SCHEMA_PATH,
    parsed_schema,
    schema_text,
    validate_product,
)

SCHEMAS = DEFAULT_SCHEMA_PATH.parent
V2 = SCHEMAS / "product-v2.avsc"
INCOMPATIBLE = SCHEMAS / "product-incompatible.avsc"

EXAMPLE: dict[str, Any] = example_product()


def _changed(**changes: Any) -> dict[str, Any]:
    product = copy.deepcopy(EXAMPLE)
    product.update(changes)
    return product


def _only_problem(product: dict[str, Any], path: Path | None = None) -> str:
    problems = validate_product(product, path=path)
    assert len(problems) == 1, problems
    return problems[0]


def _all_fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Every field of every record in a raw (unparsed) schema."""
    found = []
    for field in schema["fields"]:
        found.append(field)
        inner = field["type"]
        if isinstance(inner, dict) and inner["type"] == "array":
            inner = inner["items"]
        if isinstance(inner, dict) and inner["type"] == "record":
            found.extend(_all_fields(inner))
    return found


def test_schema_text_is_the_file_and_describes_product() -> None:
    assert schema_text() == DEFAULT_SCHEMA_PATH.read_text(encoding="utf-8").strip()
    raw = json.loads(schema_text())
    assert (raw["type"], raw["name"], raw["namespace"]) == ("record", "Product", "ru.pokupai.shop")
    assert [field["name"] for field in raw["fields"]] == list(EXAMPLE)
    assert all(field.get("doc") for field in _all_fields(raw))
    defaults = {f["name"]: f["default"] for f in _all_fields(raw) if "default" in f}
    assert defaults == {"index": "products"}


def test_parsed_schema_is_parsed_once() -> None:
    assert parsed_schema() is parsed_schema()
    assert parsed_schema()["name"] == "ru.pokupai.shop.Product"


def test_evolved_schemas_parse_and_differ_by_one_field() -> None:
    base = json.loads(schema_text())
    v2 = json.loads(V2.read_text(encoding="utf-8"))
    incompatible = json.loads(INCOMPATIBLE.read_text(encoding="utf-8"))
    for schema in (v2, incompatible):
        parse_schema(schema)
        assert schema["fields"][:-1] == base["fields"]
    assert v2["fields"][-1]["name"] == "discount_percent"
    assert v2["fields"][-1]["default"] is None
    assert "default" not in incompatible["fields"][-1]


def test_v2_reads_v1_records_and_incompatible_cannot() -> None:
    buffer = io.BytesIO()
    schemaless_writer(buffer, parsed_schema(), EXAMPLE)
    buffer.seek(0)
    read = schemaless_reader(buffer, parsed_schema(), parse_schema(json.loads(V2.read_text())))
    assert read == {**EXAMPLE, "discount_percent": None}
    buffer.seek(0)
    with pytest.raises(SchemaResolutionError):
        schemaless_reader(buffer, parsed_schema(),
                          parse_schema(json.loads(INCOMPATIBLE.read_text())))


def test_design_example_is_valid() -> None:
    assert validate_product(EXAMPLE) == []


def test_index_may_be_left_out_because_it_has_a_default() -> None:
    product = _changed()
    del product["index"]
    assert validate_product(product) == []


def test_missing_field_is_named() -> None:
    product = _changed()
    del product["name"]
    assert _only_problem(product) == "name: missing required field"


def test_missing_nested_field_is_named_with_its_path() -> None:
    product = _changed(images=[{"url": "https://example.com/images/1.jpg"}])
    assert _only_problem(product) == "images[0].alt: missing required field"


def test_wrong_type_of_nested_field() -> None:
    problem = _only_problem(_changed(price={"amount": "4999.99", "currency": "RUB"}))
    assert problem.startswith("price.amount: wrong type, expected double, got str")


@pytest.mark.parametrize(("changes", "field"), [
    ({"tags": "гаджеты"}, "tags: wrong type, expected an array of string"),
    ({"tags": ["гаджеты", 7]}, "tags[1]: wrong type, expected string"),
    ({"specifications": {"weight": 50}}, "specifications[weight]: wrong type"),
    ({"stock": {"available": True, "reserved": 0}}, "stock.available: wrong type"),
    ({"stock": {"available": 2**31, "reserved": 0}}, "stock.available: wrong type"),
    ({"price": None}, "price: wrong type, expected record Price"),
])
def test_wrong_types_are_named(changes: dict[str, Any], field: str) -> None:
    assert _only_problem(_changed(**changes)).startswith(field)


def test_negative_stock_is_named() -> None:
    problem = _only_problem(_changed(stock={"available": -5, "reserved": 0}))
    assert problem == "stock.available: must be >= 0, got -5"


@pytest.mark.parametrize(("changes", "field"), [
    ({"price": {"amount": -1.0, "currency": "RUB"}}, "price.amount:"),
    ({"price": {"amount": float("nan"), "currency": "RUB"}}, "price.amount:"),
    ({"price": {"amount": 10.0, "currency": "руб"}}, "price.currency:"),
    ({"product_id": " "}, "product_id: must not be empty"),
    ({"name": ""}, "name: must not be empty"),
    ({"created_at": "01.10.2023"}, "created_at: must be an ISO-8601 UTC timestamp"),
    ({"updated_at": "2023-10-10T15:30:00+03:00"}, "updated_at: must be an ISO-8601 UTC"),
    ({"updated_at": "2023-10-10T15:30:00"}, "updated_at: must be an ISO-8601 UTC"),
    ({"filtered_at": "2023-10-10T15:30:00Z"}, "filtered_at: unknown field"),
])
def test_semantic_problems_are_named(changes: dict[str, Any], field: str) -> None:
    assert _only_problem(_changed(**changes)).startswith(field)


def test_several_problems_are_all_reported() -> None:
    product = _changed(stock={"available": -1, "reserved": -2}, product_id="")
    del product["sku"]
    assert sorted(p.split(":")[0] for p in validate_product(product)) == [
        "product_id", "sku", "stock.available", "stock.reserved"]


def test_not_an_object() -> None:
    assert validate_product(["not", "a", "product"]) == [  # type: ignore[arg-type]
        "product: wrong type, expected a JSON object, got list ['not', 'a', 'product']"]


def test_other_schema_file_can_be_chosen() -> None:
    assert validate_product(_changed(discount_percent=15), path=V2) == []
    problem = _only_problem(_changed(discount_percent="15%"), path=V2)
    assert problem.startswith("discount_percent: wrong type, expected one of null, int")
