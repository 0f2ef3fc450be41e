"""The recommender's dead letters: what it writes to ``recommender-dlq`` instead of stopping.

Two reasons put a record there, both lying in the data, not in Kafka:

* an input record it cannot judge (:func:`input_dead_letter`): any exception raised while
  parsing it, with the exception's type and message;
* a value it built that is too large for one record of its destination
  (:func:`oversize_dead_letter`), error type ``ValueTooLarge``.

A dead letter is a JSON object ``{error, error_type, topic, partition, offset, key, value,
value_bytes, value_truncated, destination}``: ``topic``/``partition``/``offset`` name the
record being processed when it was made, ``value`` is the value as text (at most
``keep_bytes`` of it, so the letter itself always fits in a record), ``value_bytes`` its whole
size, ``destination`` the topic an oversize value was meant for (None for an input record).
The letter's record key is ``key``: the input's key, or the key the value would have had.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quixstreams.utils.json import dumps as quix_json_dumps

__all__ = ["VALUE_TOO_LARGE", "RecordSource", "input_dead_letter", "oversize_dead_letter",
           "serialized_value"]

VALUE_TOO_LARGE = "ValueTooLarge"
_MAX_ERROR_CHARS = 1_000
_MAX_KEY_BYTES = 1_000


@dataclass(frozen=True)
class RecordSource:
    """Where the record being processed came from."""

    topic: str
    partition: int
    offset: int


def serialized_value(value: Any) -> bytes:
    """``value`` as Quix's JSON serializer writes it, so its length is the record's."""
    return quix_json_dumps(value)


def _prefix(raw: bytes | None, keep_bytes: int) -> str | None:
    return None if raw is None else raw[:keep_bytes].decode("utf-8", "replace")


def _key_text(key: str | None) -> str | None:
    """A key as printable text: undecodable bytes (kept as surrogate escapes by the key
    deserializer) become U+FFFD, and a long key is cut."""
    if key is None:
        return None
    return _prefix(key.encode("utf-8", "surrogateescape"), _MAX_KEY_BYTES)


def _letter(error_type: str, error: str, source: RecordSource, key: str | None,
            raw: bytes | None, keep_bytes: int, destination: str | None) -> dict[str, Any]:
    return {"error": error[:_MAX_ERROR_CHARS], "error_type": error_type,
            "topic": source.topic, "partition": source.partition, "offset": source.offset,
            "key": _key_text(key), "value": _prefix(raw, keep_bytes),
            "value_bytes": None if raw is None else len(raw),
            "value_truncated": raw is not None and len(raw) > keep_bytes,
            "destination": destination}


def input_dead_letter(exc: Exception, source: RecordSource, key: str | None,
                      raw: bytes | None, keep_bytes: int) -> dict[str, Any]:
    """The dead letter of an input record that raised ``exc`` while it was judged.

    Parameters:
        exc: what parsing raised (any exception: the record is the cause).
        source: the record's topic, partition and offset.
        key: its key as the app read it; raw: its value bytes (None for a tombstone).
        keep_bytes: how many bytes of the value the letter carries at most.
    """
    return _letter(type(exc).__name__, str(exc) or repr(exc), source, key, raw, keep_bytes,
                   None)


def oversize_dead_letter(destination: str, serialized: bytes, limit: int,
                         source: RecordSource, key: str | None,
                         keep_bytes: int) -> dict[str, Any]:
    """The dead letter of a value the app built for ``destination`` whose ``serialized`` form
    is longer than ``limit`` bytes."""
    error = (f"value for {destination} is {len(serialized)} bytes serialized, more than the "
             f"{limit} a record may carry")
    return _letter(VALUE_TOO_LARGE, error, source, key, serialized, keep_bytes, destination)
