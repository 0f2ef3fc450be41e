"""The stages compared record by record, as plain functions over plain values (no I/O).

The reference is the latest value of each key of ``shop-clear`` (a tombstone removes the key).
Each downstream stage is compared with it key by key:

* ``missing``: a key the reference holds and the stage does not;
* ``extra``: a key the stage holds and the reference does not (a tombstone not applied);
* ``stale``: a key both hold with different content (an older version, or any other).

A version is a digest of the value's content: JSON is parsed and written back with sorted
keys, so an Elasticsearch document (its ``_source``, parsed) and the record it was indexed
from give the same digest; a value that is not JSON is digested as its bytes.

``products_by_category`` is compared by category: the expected ``PRODUCT_COUNT`` of each
category (the live products of the reference history, each by the last version the
recommender accepts) against the latest row's count; a row for a category with no live
product is extra, a category with no row is missing, a wrong count is stale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import orjson

from pokupai_lib.kafka.topic_reader import Record
from pokupai_lib.recommendations.row_checks import live_products

__all__ = ["StageDiff", "compare_counts", "compare_stage", "content_digest",
           "dead_lettered_keys", "document_digest", "expected_counts", "latest_positions",
           "latest_versions", "record_key_text"]

Position = tuple[int, int]


@dataclass(frozen=True)
class StageDiff:
    """One stage against the reference: how many records it holds and the keys that differ
    (sorted). ``dead_lettered`` are keys whose latest record the stage dead-lettered: they are
    accounted for, not missing."""

    stage: str
    records: int
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    dead_lettered: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Nothing missing, extra or stale."""
        return not (self.missing or self.extra or self.stale)

    def examples(self, per_kind: int = 3) -> str:
        """A few keys of each kind of difference, e.g. ``missing: 12, 15; stale: 7``."""
        parts = [f"{kind}: {', '.join(keys[:per_kind])}{' …' if len(keys) > per_kind else ''}"
                 for kind, keys in (("missing", self.missing), ("extra", self.extra),
                                    ("stale", self.stale)) if keys]
        return "; ".join(parts)


def record_key_text(key: bytes) -> str:
    """A record key as the stages name it (Connect's StringConverter decodes it as UTF-8)."""
    return key.decode("utf-8", "replace")


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def document_digest(document: object) -> str:
    """The version of a parsed JSON value (e.g. an Elasticsearch ``_source``)."""
    return _digest(orjson.dumps(document, option=orjson.OPT_SORT_KEYS))


def content_digest(value: bytes) -> str:
    """The version of a record value: of its JSON content when it is JSON, else of its bytes."""
    try:
        return document_digest(orjson.loads(value))
    except orjson.JSONDecodeError:
        return "bytes:" + _digest(value)


def _in_order(records: Iterable[Record]) -> list[Record]:
    return sorted((r for r in records if r.key is not None), key=lambda r: (r.partition, r.offset))


def latest_versions(records: Iterable[Record]) -> dict[str, str]:
    """Key → version of the last value of each key; a tombstone removes the key."""
    versions: dict[str, str] = {}
    for record in _in_order(records):
        key = record_key_text(record.key or b"")
        if record.value is None:
            versions.pop(key, None)
        else:
            versions[key] = content_digest(record.value)
    return versions


def latest_positions(records: Iterable[Record]) -> dict[str, Position]:
    """Key → (partition, offset) of its last record, tombstones included."""
    return {record_key_text(r.key or b""): (r.partition, r.offset) for r in _in_order(records)}


def dead_lettered_keys(positions: Mapping[str, Position],
                       letters: Collection[Position]) -> set[str]:
    """The keys whose last record (``positions``, of the topic a sink reads) is among the
    (partition, offset) of that sink's dead letters."""
    return {key for key, position in positions.items() if position in letters}


def compare_stage(stage: str, reference: Mapping[str, str], view: Mapping[str, str],
                  dead_lettered: Collection[str] = ()) -> StageDiff:
    """``view`` (key → version) against ``reference``; keys in ``dead_lettered`` are left out
    of the differences and listed apart."""
    excused = set(dead_lettered)
    missing = reference.keys() - view.keys() - excused
    extra = view.keys() - reference.keys() - excused
    stale = {k for k in reference.keys() & view.keys() - excused if reference[k] != view[k]}
    held_back = excused & (reference.keys() | view.keys())
    return StageDiff(stage, len(view), tuple(sorted(missing)), tuple(sorted(extra)),
                     tuple(sorted(stale)), tuple(sorted(held_back)))


def expected_counts(records: Iterable[Record]) -> dict[str, int]:
    """Category → number of live products, replaying the reference history (each product by
    the last version the recommender accepts, a tombstone removing it)."""
    live = live_products((r.key, r.value) for r in _in_order(records))
    return {category: sum(names.values()) for category, names in live.names.items()}


def compare_counts(stage: str, expected: Mapping[str, int], rows: Mapping[str, int]
                   ) -> StageDiff:
    """Each category's ``PRODUCT_COUNT`` (``rows``) against the ``expected`` count."""
    return compare_stage(stage, {c: str(n) for c, n in expected.items()},
                         {c: str(n) for c, n in rows.items()})
