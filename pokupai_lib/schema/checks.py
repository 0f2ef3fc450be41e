"""Tables of the product schema and its registered versions, for notebooks."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from confluent_kafka.schema_registry import SchemaRegistryClient

from pokupai_lib.schema.product import schema_text

__all__ = ["schema_fields", "subject_versions"]


def schema_fields(path: Path | None = None) -> pd.DataFrame:
    """The schema's top-level fields as a table: name, Avro type (nested records named), doc."""
    raw = json.loads(schema_text(path))
    rows = []
    for field in raw["fields"]:
        kind = field["type"]
        if isinstance(kind, dict):
            inner = kind.get("items", kind.get("values"))
            label = kind.get("name") or kind["type"]
            if isinstance(inner, dict):
                label = f"{kind['type']}<{inner.get('name', inner.get('type'))}>"
            elif inner is not None:
                label = f"{kind['type']}<{inner}>"
            kind = label
        rows.append({"field": field["name"], "type": str(kind), "doc": field.get("doc", "")})
    return pd.DataFrame(rows)


def subject_versions(client: SchemaRegistryClient, subject: str) -> pd.DataFrame:
    """One row per version: id, field count and the fields added since the previous one."""
    rows, previous = [], set[str]()
    for version in client.get_versions(subject):
        registered = client.get_version(subject, version)
        fields = [f["name"] for f in json.loads(registered.schema.schema_str or "{}")["fields"]]
        rows.append({"version": version, "schema_id": registered.schema_id,
                     "fields": len(fields),
                     "new_fields": ", ".join(f for f in fields if f not in previous)
                     if previous else "(first version)"})
        previous = set(fields)
    return pd.DataFrame(rows)
