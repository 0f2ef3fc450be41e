"""Confluent wire-format Avro decoded with the writer's schema, fetched once per id."""

from __future__ import annotations

import io
import struct
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import SerializationError
from fastavro import schemaless_writer

from pokupai_lib.ingest.catalog import generate_catalog
from pokupai_lib.schema.decoding import WireAvroDecoder
from pokupai_lib.schema.product import parsed_schema, schema_text


class Registry:
    """Answers get_schema for the ids it holds, counting the calls."""

    def __init__(self, schemas: dict[int, Schema]) -> None:
        self.schemas = schemas
        self.calls: list[int] = []

    def get_schema(self, schema_id: int) -> Schema:
        self.calls.append(schema_id)
        if schema_id not in self.schemas:
            raise SchemaRegistryError(404, 40403, "Schema not found")
        return self.schemas[schema_id]


def _wire(schema_id: int, product: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    out.write(b"\0" + struct.pack(">I", schema_id))
    schemaless_writer(out, parsed_schema(), product)
    return out.getvalue()


def _decoder(registry: Registry) -> WireAvroDecoder:
    return WireAvroDecoder(registry)  # type: ignore[arg-type]


def test_products_decode_as_written_and_each_schema_is_fetched_once() -> None:
    registry = Registry({7: Schema(schema_text(), "AVRO")})
    decode = _decoder(registry)
    products = generate_catalog(3, seed=5).products
    decoded = [decode(_wire(7, product)) for product in products]
    assert [d["product_id"] for d in decoded] == [p["product_id"] for p in products]
    assert decoded[0]["name"] == products[0]["name"]
    assert registry.calls == [7]


@pytest.mark.parametrize(("raw", "says"), [
    (b"", "total data size is 0 bytes"), (b"\0\0\0\0\x07", "total data size is 5 bytes"),
    (b"\x01\0\0\0\x07abc", "Invalid magic byte"), (b"{\"json\": 1}", "Invalid magic byte")])
def test_bytes_not_in_the_wire_format_get_confluent_s_own_error(raw: bytes, says: str) -> None:
    with pytest.raises(SerializationError, match=says):
        _decoder(Registry({}))(raw)


def test_an_unknown_schema_id_is_the_registry_s_error() -> None:
    with pytest.raises(SchemaRegistryError) as caught:
        _decoder(Registry({}))(_wire(99, generate_catalog(1, seed=5).products[0]))
    assert caught.value.http_status_code == 404


def test_truncated_avro_raises() -> None:
    raw = _wire(7, generate_catalog(1, seed=5).products[0])
    with pytest.raises(EOFError):
        _decoder(Registry({7: Schema(schema_text(), "AVRO")}))(raw[:20])


def test_a_schema_of_another_type_is_refused() -> None:
    registry = Registry({3: Schema('{"type": "object"}', "JSON")})
    with pytest.raises(ValueError, match="JSON, not Avro"):
        _decoder(registry)(b"\0\0\0\0\x03{}")
