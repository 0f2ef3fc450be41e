"""The filter's moderation state: per product its latest version and whether it is shown.

Kept in memory, written to the compacted ``shop-moderation`` topic in the same transaction as
the ``shop-clear`` record it explains, and rebuilt from that topic when the filter starts: the
topic is the state (no other store holds the truth) and the audit trail of every decision.
Hand-managed rather than a Quix Streams store: the filter is a plain transactional
confluent-kafka loop, and a ban change must touch products of every partition at once, which a
store partitioned like the input cannot do.

A record's value is JSON::

    {"product_id": "12345", "status": "blocked", "since": "2026-11-30T01:02:03.456+00:00",
     "blocked_by": [{"rule": "word", "term": "контрафакт", "field": "name"}],
     "version": {... the shop-clear value of the latest version ...}}

``status`` is ``live`` (shown in ``shop-clear``), ``blocked`` (a ban entry hides it) or
``delisted`` (the shop withdrew it with a tombstone on ``shop-raw``; ``version`` is null).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from pokupai_lib.bans.rules import BanMatch, match_words

__all__ = ["Moderation", "ModerationState", "Status", "decode_moderation", "decode_record",
           "encode_moderation"]

Status = Literal["live", "blocked", "delisted"]


@dataclass(frozen=True, slots=True)
class Moderation:
    """What the filter decided about one product, and on which version."""

    status: Status
    since: str
    version: bytes | None = None
    blocked_by: tuple[BanMatch, ...] = ()
    # Derived from ``version`` for finding what a new ban entry hits; not written to the topic.
    words: tuple[str, ...] = ()
    sku: str | None = None

    @classmethod
    def of_version(cls, status: Status, since: str, version: bytes,
                   blocked_by: tuple[BanMatch, ...] = ()) -> Moderation:
        """A decision on ``version`` (a shop-clear JSON value), with its words worked out."""
        product = orjson.loads(version)
        sku = product.get("sku")
        return cls(status, since, version, blocked_by, match_words(product),
                   sku.strip() if isinstance(sku, str) else None)

    def product(self) -> dict[str, Any]:
        """The latest version as a product document; KeyError for a delisted product."""
        if self.version is None:
            raise KeyError("a delisted product keeps no version")
        product: dict[str, Any] = orjson.loads(self.version)
        return product

    def view(self, product_id: str) -> dict[str, Any]:
        """The answer to "why is it hidden?" (no version: that is the product itself)."""
        return {"product_id": product_id, "status": self.status, "since": self.since,
                "blocked_by": [{"rule": m.rule, "term": m.term, "field": m.field}
                               for m in self.blocked_by]}


_VERSION_KEY = b',"version":'


def encode_moderation(product_id: str, moderation: Moderation) -> bytes:
    """The ``shop-moderation`` value of ``moderation``; the version is embedded as it is."""
    head = orjson.dumps(moderation.view(product_id))
    return b"".join((head[:-1], _VERSION_KEY, moderation.version or b"null", b"}"))


def decode_moderation(value: bytes) -> Moderation:
    """A ``shop-moderation`` value back into a decision; ValueError when it is not one."""
    try:
        # The version's own bytes are cut out rather than parsed with the rest and dumped
        # again; the first such key is ours (encode_moderation writes it after fields whose
        # quotes JSON escapes).
        cut = value.find(_VERSION_KEY)
        raw = orjson.loads(value if cut < 0 else value[:cut] + b"}")
        status = raw["status"]
        if status not in ("live", "blocked", "delisted"):
            raise ValueError(f"unknown status {status!r}")
        blocked_by = tuple(BanMatch(rule=b["rule"], term=b["term"], field=b["field"])
                           for b in raw.get("blocked_by") or ())
        version = None if cut < 0 else value[cut + len(_VERSION_KEY):value.rindex(b"}")]
        if version is None or version == b"null":
            return Moderation(status, raw["since"], None, blocked_by)
        return Moderation.of_version(status, raw["since"], version, blocked_by)
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"not a moderation record: {exc}") from exc


def decode_record(key: bytes | None, value: bytes | None
                  ) -> tuple[bytes, Moderation | ValueError | None]:
    """A ``shop-moderation`` record as :meth:`ModerationState.load` takes it: None for a
    tombstone, the ValueError for a value that is no moderation record."""
    if value is None:
        return key or b"", None
    try:
        return key or b"", decode_moderation(value)
    except ValueError as exc:
        return key or b"", exc


class ModerationState:
    """Every product the filter has judged, by key (the ``product_id`` bytes)."""

    def __init__(self) -> None:
        """Create an empty state."""
        self._products: dict[bytes, Moderation] = {}
        self._counts: Counter[str] = Counter()

    def _put(self, key: bytes, moderation: Moderation | None) -> None:
        old = self._products.pop(key, None) if moderation is None else \
            self._products.get(key)
        if old is not None:
            self._counts[old.status] -= 1
        if moderation is not None:
            self._products[key] = moderation
            self._counts[moderation.status] += 1

    def get(self, key: bytes) -> Moderation | None:
        """The decision on ``key``, or None for a product never judged."""
        return self._products.get(key)

    def apply(self, changes: Mapping[bytes, Moderation]) -> None:
        """Take in decisions once the transaction that wrote them has committed."""
        for key, moderation in changes.items():
            self._put(key, moderation)

    def load(self, records: Iterable[tuple[bytes, Moderation | ValueError | None]]
             ) -> list[str]:
        """Rebuild from ``shop-moderation`` read in order (each value decoded by
        :func:`decode_record`); returns the problems met."""
        return [problem for problem in map(self.take, records) if problem is not None]

    def take(self, record: tuple[bytes, Moderation | ValueError | None]) -> str | None:
        """Apply one record of ``shop-moderation`` (decoded by :func:`decode_record`) while
        reading it, so superseded versions are dropped at once; the problem, if any."""
        key, moderation = record
        if isinstance(moderation, ValueError):
            return f"{key!r}: {moderation}"
        self._put(key, moderation)
        return None

    def items(self) -> Iterator[tuple[bytes, Moderation]]:
        """Every (key, decision); a snapshot, safe while the state changes."""
        return iter(self._products.copy().items())

    def counts(self) -> dict[str, int]:
        """Products per status."""
        return {status: n for status, n in self._counts.items() if n}

    def __len__(self) -> int:
        """Return the number of products judged."""
        return len(self._products)
