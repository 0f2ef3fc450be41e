"""Registering the product schema: subjects, versions, compatibility, and refusals.

All through confluent-kafka's ``SchemaRegistryClient`` against the registry's Confluent-
compatible API; a refused registration is reported with the registry's own HTTP answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from pokupai_lib.config import LabConfig
from pokupai_lib.schema.product import schema_text

__all__ = ["RegistrationOutcome", "product_subject", "register_product_schema", "schema_file",
           "try_register"]


def product_subject(cfg: LabConfig) -> str:
    """The subject of ``shop-raw`` values (TopicNameStrategy): ``shop-raw-value``."""
    return f"{cfg.topics.shop_raw}-value"


def schema_file(cfg: LabConfig, name: str = "product.avsc") -> Path:
    """A schema file under ``infra/schemas``."""
    return cfg.paths.infra / "schemas" / name


@dataclass(frozen=True)
class RegistrationOutcome:
    """What the registry answered to one registration attempt."""

    schema: str
    accepted: bool
    schema_id: int | None
    http_status: int
    error_code: int | None
    message: str


def register_product_schema(client: SchemaRegistryClient, subject: str,
                            compatibility: str = "BACKWARD") -> int:
    """Set the subject's compatibility and register the product schema; return its id.

    Registering the same schema again returns the same id (idempotent).
    """
    client.set_compatibility(subject, compatibility)
    return int(client.register_schema(subject, Schema(schema_text(), "AVRO")))


def try_register(client: SchemaRegistryClient, subject: str, path: Path) -> RegistrationOutcome:
    """Register the schema in ``path``, turning a refusal into the registry's answer."""
    text = path.read_text(encoding="utf-8").strip()
    try:
        schema_id = client.register_schema(subject, Schema(text, "AVRO"))
    except SchemaRegistryError as exc:
        return RegistrationOutcome(path.name, False, None, exc.http_status_code, exc.error_code,
                                   exc.error_message)
    return RegistrationOutcome(path.name, True, int(schema_id), 200, None, "registered")
