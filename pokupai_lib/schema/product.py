"""The Avro ``Product`` schema (``infra/schemas/product.avsc``) and a fast product validator.

``validate_product`` runs for every record the publisher sends, so the common case is cheap:
fastavro's compiled validator says yes or no, a few semantic checks follow, and only a record
fastavro refuses is walked again to name each field that is wrong and why.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeGuard, cast

from fastavro import parse_schema
from fastavro.validation import ValidationError, validate

__all__ = [
    "DEFAULT_SCHEMA_PATH",
    "declares_product_types",
    "parsed_schema",
    "schema_text",
    "validate_decoded_product",
    "validate_product",
]

DEFAULT_SCHEMA_PATH = Path(__file__).resolve().parents[2] / "infra" / "schemas" / "product.avsc"

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_MAX_DOUBLE = sys.float_info.max
_NOT_EMPTY = ("product_id", "name", "store_id")
_TIMESTAMPS = ("created_at", "updated_at")


@cache  # keyed by the argument as given: resolving a path per record costs syscalls
def _load(path: Path | None) -> tuple[str, dict[str, Any], frozenset[str]]:
    # Stripped: AvroSerializer strips the text it looks up, and the registry compares exactly.
    text = (path or DEFAULT_SCHEMA_PATH).read_text(encoding="utf-8").strip()
    parsed = cast(dict[str, Any], parse_schema(json.loads(text)))
    return text, parsed, frozenset(field["name"] for field in parsed["fields"])


def schema_text(path: Path | None = None) -> str:
    """Return the schema's JSON text, stripped: exactly what gets registered and looked up.

    Args:
        path: an ``.avsc`` file; defaults to the repository's ``infra/schemas/product.avsc``.

    Raises:
        OSError: the file cannot be read.
    """
    return _load(path)[0]


def parsed_schema(path: Path | None = None) -> dict[str, Any]:
    """Return the schema parsed by ``fastavro.parse_schema``, parsed once per file and cached.

    Args:
        path: an ``.avsc`` file; defaults to the repository's ``infra/schemas/product.avsc``.

    Raises:
        OSError: the file cannot be read.
        fastavro.schema.SchemaParseException: the file is not a valid Avro schema.
    """
    return _load(path)[1]


def validate_product(record: Mapping[str, Any], *, path: Path | None = None) -> list[str]:
    """Check one product against the Avro schema and the design's semantic rules.

    Args:
        record: the product, as decoded from JSON.
        path: the ``.avsc`` file to check against; defaults to ``product.avsc``.

    Returns:
        Human-readable problems, each starting with the field it is about (``price.amount``,
        ``tags[2]``); an empty list when the product is valid. Unknown top-level fields are
        reported too, because Avro serialization would silently drop them.
    """
    if not isinstance(record, Mapping):
        return [f"product: wrong type, expected a JSON object, got {_describe(record)}"]
    _, schema, known = _load(path)
    problems: list[str] = []
    if not validate(record, schema, raise_errors=False):
        problems.extend(_explain_refusal(record, schema))
    if not known.issuperset(record):
        problems.extend(
            f"{name}: unknown field, not in the {schema['name'].rsplit('.', 1)[-1]} schema "
            "(Avro serialization would drop it)"
            for name in record if name not in known)
    problems.extend(_semantic_problems(record))
    return problems


def _explain_refusal(record: Mapping[str, Any], schema: dict[str, Any]) -> list[str]:
    # fastavro's ValidationError names the record type, not the field path, and reports a
    # missing field as the whole record; walking the schema again gives messages a person reads.
    found = list(_explain(record, schema, "", schema["__named_schemas"]))
    if found:
        return found
    try:
        validate(record, schema, raise_errors=True)
    except ValidationError as exc:
        return [str(error) for error in exc.errors]
    return []


def _explain(datum: Any, schema: Any, where: str, named: dict[str, Any]) -> Iterator[str]:
    """Yield the problems of ``datum`` against a parsed (sub)schema, located by ``where``."""
    if isinstance(schema, str) and schema in named:
        schema = named[schema]
    kind = schema["type"] if isinstance(schema, dict) else schema
    if kind == "record":
        if not isinstance(datum, Mapping):
            yield _wrong(where, f"record {schema['name'].rsplit('.', 1)[-1]}", datum)
            return
        for field in schema["fields"]:
            inner = _join(where, field["name"])
            if field["name"] in datum:
                yield from _explain(datum[field["name"]], field["type"], inner, named)
            elif "default" not in field:
                yield f"{inner}: missing required field"
    elif kind == "array":
        if not isinstance(datum, Sequence) or isinstance(datum, str | bytes):
            yield _wrong(where, f"an array of {_name(schema['items'])}", datum)
            return
        for number, item in enumerate(datum):
            yield from _explain(item, schema["items"], f"{where}[{number}]", named)
    elif kind == "map":
        if not isinstance(datum, Mapping):
            yield _wrong(where, f"a map of {_name(schema['values'])}", datum)
            return
        for key, value in datum.items():
            if not isinstance(key, str):
                yield _wrong(f"{where} key", "string", key)
            yield from _explain(value, schema["values"], f"{where}[{key}]", named)
    elif isinstance(kind, list):
        if not any(not list(_explain(datum, branch, where, named)) for branch in kind):
            yield _wrong(where, "one of " + ", ".join(_name(branch) for branch in kind), datum)
    elif not _primitive_ok(datum, kind):
        yield _wrong(where, _name(kind), datum)


def _primitive_ok(datum: Any, kind: Any) -> bool:
    """Whether ``datum`` fits an Avro primitive, with fastavro's rules (bool is not a number)."""
    if kind == "string":
        return isinstance(datum, str)
    if kind in ("int", "long"):
        low, high = _INT32 if kind == "int" else _INT64
        return isinstance(datum, int) and not isinstance(datum, bool) and low <= datum <= high
    if kind in ("double", "float"):
        return isinstance(datum, int | float) and not isinstance(datum, bool)
    if kind == "boolean":
        return isinstance(datum, bool)
    if kind == "null":
        return datum is None
    if kind == "bytes":
        return isinstance(datum, bytes | bytearray)
    return True  # enum, fixed, logical types: fastavro's own error messages cover those


def _semantic_problems(record: Mapping[str, Any]) -> list[str]:
    """Rules the schema cannot express; a field of the wrong type is left to the type check."""
    problems = [f"{name}: must not be empty" for name in _NOT_EMPTY
                if isinstance(value := record.get(name), str) and not value.strip()]
    price = record.get("price")
    if isinstance(price, dict | Mapping):
        amount = price.get("amount")
        if _is_number(amount) and not 0 <= amount <= _MAX_DOUBLE:  # also refuses NaN, inf
            problems.append(f"price.amount: must be a finite number >= 0, got {_short(amount)}")
        currency = price.get("currency")
        if isinstance(currency, str) and not (
                len(currency) == 3 and currency.isascii() and currency.isalpha()
                and currency.isupper()):
            problems.append("price.currency: must be a 3-letter ISO 4217 code like RUB, "
                            f"got {_short(currency)}")
    stock = record.get("stock")
    if isinstance(stock, dict | Mapping):
        problems.extend(f"stock.{name}: must be >= 0, got {_short(count)}"
                        for name in ("available", "reserved")
                        if _is_number(count := stock.get(name)) and count < 0)
    problems.extend(f"{name}: must be an ISO-8601 UTC timestamp like 2023-10-01T12:00:00Z, "
                    f"got {_short(value)}" for name in _TIMESTAMPS
                    if isinstance(value := record.get(name), str) and not _is_utc(value))
    return problems


def _is_utc(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is UTC  # "Z" and "+00:00" both give UTC
    except ValueError:
        return False


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _name(schema: Any) -> str:
    if isinstance(schema, dict):
        return str(schema.get("name", schema["type"])).rsplit(".", 1)[-1]
    if isinstance(schema, list):
        return " or ".join(_name(branch) for branch in schema)
    return str(schema).rsplit(".", 1)[-1]


def _wrong(where: str, expected: str, datum: Any) -> str:
    return f"{where or 'product'}: wrong type, expected {expected}, got {_describe(datum)}"


def _describe(datum: Any) -> str:
    return f"{type(datum).__name__} {_short(datum)}"


def _short(datum: Any) -> str:
    shown = repr(datum)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def declares_product_types(writer: Mapping[str, Any], *, path: Path | None = None) -> bool:
    """Whether a writer schema (parsed by fastavro) declares every field of the product
    schema with the same type: a record it wrote then holds them all, typed as ours."""
    _, ours, _known = _load(path)
    theirs = {field["name"]: field["type"] for field in writer.get("fields", ())}
    return all(field["name"] in theirs and theirs[field["name"]] == field["type"]
               for field in ours["fields"])


def validate_decoded_product(record: Mapping[str, Any], *, typed: bool | None = None,
                             path: Path | None = None) -> list[str]:
    """Like :func:`validate_product`, for a record an Avro reader has already decoded.

    ``typed`` says whether the writer's schema declares every product field with our type
    (:func:`declares_product_types`); ``None`` when the writer's schema is not known, taken as
    yes when the record has exactly our fields. Then decoding has checked the types and only
    the semantic checks remain; a later version that only added fields is typed, and its
    record keeps the new ones. Otherwise the fields this version knows get the full check.
    """
    _, _schema, known = _load(path)
    if typed is None:
        typed = record.keys() == known
    if typed:
        return _semantic_problems(record)
    if known.issubset(record.keys()):
        return validate_product({name: record[name] for name in known}, path=path)
    return validate_product(record, path=path)
