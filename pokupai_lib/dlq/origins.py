"""Where a dead letter came from, and what re-driving it writes: plain functions, no Kafka.

The lab's three dead-letter topics each keep the original record their own way:

* the filter's ``shop-dlq`` (primary): key and value are the ``shop-raw`` record's, the value
  cut to its first bytes when it was too large (``original.truncated: true``); headers
  ``error.type``, ``error.message``, ``source.topic``, ``source.partition``,
  ``source.offset`` (and ``original.size``, ``original.truncated``). The original record's
  own headers are not kept.
* Connect's ``connect-dlq-products-es-sink`` (secondary): key, value and headers are the
  ``primary.shop-clear`` record's, as its bytes, plus Connect's ``__connect.errors.*``
  headers (``topic``, ``partition``, ``offset``, ``connector.name``, ``task.id``,
  ``stage``, ``class.name``, ``exception.class.name``, ``exception.message``,
  ``exception.stacktrace``).
* the recommender's ``recommender-dlq`` (secondary): the value is a JSON letter
  (:mod:`pokupai_lib.recommendations.dead_letters`) holding the original key and value as
  text, the value cut to ``dead_letter_value_bytes``, and the source ``topic``,
  ``partition``, ``offset``. A letter with a ``destination`` is a value the recommender built
  that was too large: its input was fine, so there is nothing to re-drive.

Re-driving writes the original key, value and headers (minus the dead-letter headers) to the
original topic and partition. A letter that does not hold the whole original (a cut value),
or that names no source, is not re-driven: :class:`Unredrivable` says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

from pokupai_lib.config import ClusterName, LabConfig
from pokupai_lib.errors import InvalidInputError

__all__ = ["CONNECT_HEADER_PREFIX", "FILTER_HEADERS", "DlqKind", "DlqTopic", "Headers",
           "Redrive", "Unredrivable", "dlq_topic", "dlq_topics", "redrive_of", "superseded"]

DlqKind = Literal["filter", "connect", "recommender"]
Headers = list[tuple[str, bytes | None]]

FILTER_HEADERS = frozenset({"error.type", "error.message", "source.topic", "source.partition",
                            "source.offset", "original.size", "original.truncated"})
CONNECT_HEADER_PREFIX = "__connect.errors."
_CUT = "holds only the first bytes of its value (the value was too large to carry)"


@dataclass(frozen=True)
class DlqTopic:
    """A dead-letter topic of the lab: its name, its cluster (its letters' original topics are
    on the same one) and whose letters it holds."""

    name: str
    cluster: ClusterName
    kind: DlqKind


@dataclass(frozen=True)
class Redrive:
    """What re-driving one dead letter writes: to the original ``topic`` and ``partition``
    (None: the producer's partitioner chooses); ``source_offset`` is where the original
    record was, when the letter says."""

    topic: str
    partition: int | None
    key: bytes | None
    value: bytes | None
    headers: Headers
    source_offset: int | None = None


@dataclass(frozen=True)
class Unredrivable:
    """A dead letter that is not re-driven, and why."""

    reason: str


def dlq_topics(cfg: LabConfig) -> list[DlqTopic]:
    """The lab's dead-letter topics: the filter's, the Connect sink's and the recommender's."""
    return [DlqTopic(cfg.topics.shop_dlq, "primary", "filter"),
            DlqTopic(cfg.connect.dlq_topic, cfg.mirror.target, "connect"),
            DlqTopic(cfg.recommender.dead_letters, cfg.mirror.target, "recommender")]


def dlq_topic(cfg: LabConfig, name: str) -> DlqTopic:
    """The dead-letter topic called ``name``.

    Raises:
        InvalidInputError: ``name`` is not one of the lab's dead-letter topics.
    """
    for topic in dlq_topics(cfg):
        if topic.name == name:
            return topic
    raise InvalidInputError(f"{name!r} is not a dead-letter topic of the lab; choose one of "
                            f"{', '.join(t.name for t in dlq_topics(cfg))}")


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "replace")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _filter_redrive(key: bytes | None, value: bytes | None,
                    headers: Headers) -> Redrive | Unredrivable:
    named = {name: _text(raw) for name, raw in headers}
    topic = named.get("source.topic")
    if not topic:
        return Unredrivable("no source.topic header")
    if named.get("original.truncated") == "true":
        return Unredrivable(_CUT)
    return Redrive(topic, _int(named.get("source.partition")), key, value,
                   [(n, v) for n, v in headers if n not in FILTER_HEADERS],
                   _int(named.get("source.offset")))


def _connect_redrive(key: bytes | None, value: bytes | None,
                     headers: Headers) -> Redrive | Unredrivable:
    named = {name: _text(raw) for name, raw in headers}
    topic = named.get(f"{CONNECT_HEADER_PREFIX}topic")
    if not topic:
        return Unredrivable(f"no {CONNECT_HEADER_PREFIX}topic header (context headers off?)")
    return Redrive(topic, _int(named.get(f"{CONNECT_HEADER_PREFIX}partition")), key, value,
                   [(n, v) for n, v in headers if not n.startswith(CONNECT_HEADER_PREFIX)],
                   _int(named.get(f"{CONNECT_HEADER_PREFIX}offset")))


def _encoded(text: Any) -> bytes | None:
    return None if text is None else str(text).encode("utf-8")


def _recommender_redrive(value: bytes | None, headers: Headers) -> Redrive | Unredrivable:
    try:
        letter = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return Unredrivable("the letter is not JSON")
    if not isinstance(letter, dict) or not letter.get("topic"):
        return Unredrivable("the letter names no source topic")
    if letter.get("destination") is not None:
        return Unredrivable(f"an oversize value built for {letter['destination']}; its input "
                            "was fine (raise recommender.max_value_bytes instead)")
    if letter.get("value_truncated"):
        return Unredrivable(_CUT)
    return Redrive(str(letter["topic"]), _int(letter.get("partition")),
                   _encoded(letter.get("key")), _encoded(letter.get("value")), list(headers),
                   _int(letter.get("offset")))


def superseded(redrive: Redrive, newest: dict[tuple[str, int, bytes | None], int]) -> bool:
    """True when the original topic holds a newer record of the same key in the same
    partition (``newest``: (topic, partition, key) → the key's last offset there): re-driving
    the old one would put it back on top of the newer one."""
    if redrive.partition is None or redrive.source_offset is None:
        return False
    last = newest.get((redrive.topic, redrive.partition, redrive.key))
    return last is not None and last > redrive.source_offset


def redrive_of(kind: DlqKind, key: bytes | None, value: bytes | None,
               headers: Headers) -> Redrive | Unredrivable:
    """What re-driving one dead letter of a ``kind`` topic writes, or why it is not re-driven.

    Parameters:
        kind: whose dead letters (see :func:`dlq_topics`).
        key, value: the dead letter's key and value bytes.
        headers: its headers as confluent-kafka gives them (name, bytes or None).
    """
    if kind == "filter":
        return _filter_redrive(key, value, headers)
    if kind == "connect":
        return _connect_redrive(key, value, headers)
    return _recommender_redrive(value, headers)
