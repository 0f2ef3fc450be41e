"""Moderation's invariant, checked on the running platform.

Whatever the interleaving of new product versions, delistings, bans, lifted bans and ``kill -9``
of the filter: once the filter has caught up, the latest-by-key view of ``shop-clear`` is
exactly the set of the latest published versions that the final ban list allows.
:func:`run_moderation_scenario` plays a random interleaving, computes that set itself (the
oracle) and compares it with ``shop-clear`` record by record.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from confluent_kafka import Producer
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from pokupai_lib.bans.client import BanApiClient
from pokupai_lib.config import LabConfig
from pokupai_lib.errors import LabError
from pokupai_lib.ingest.catalog import generate_catalog
from pokupai_lib.ingest.checks import wait_for_filter, wait_for_filter_bans
from pokupai_lib.kafka.clients import client_config
from pokupai_lib.kafka.topic_reader import end_offsets, latest_by_key, read_range
from pokupai_lib.runtime.services import FILTER
from pokupai_lib.runtime.supervisor import lab_supervisor
from pokupai_lib.runtime.wait import wait_until
from pokupai_lib.schema.product import schema_text
from pokupai_lib.schema.registry import registry_client

__all__ = ["ModerationOutcome", "run_moderation_scenario", "spelled_in_letters"]

_LETTERS = "абвгдежзик"


def spelled_in_letters(number: int) -> str:
    """A number in Cyrillic letters, so a run's ban words are words of one script."""
    return "".join(_LETTERS[int(digit)] for digit in str(number))


@dataclass
class ModerationOutcome:
    """The oracle's set, what ``shop-clear`` shows, and how the run went."""

    expected: dict[str, dict[str, Any]]
    shown: dict[str, dict[str, Any]]
    steps: dict[str, int] = field(default_factory=dict)
    kills: list[str] = field(default_factory=list)
    final_bans: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        """Allowed latest versions that ``shop-clear`` does not show."""
        return sorted(set(self.expected) - set(self.shown))

    @property
    def extra(self) -> list[str]:
        """Products ``shop-clear`` shows that are banned, delisted or never published."""
        return sorted(set(self.shown) - set(self.expected))

    @property
    def stale(self) -> list[str]:
        """Products shown in another version than the latest published one (compared on the
        fields published; decoding adds the schema's defaults)."""
        return sorted(pid for pid, version in self.expected.items() if pid in self.shown
                      and any(self.shown[pid].get(k) != v for k, v in version.items()))

    def summary(self) -> str:
        return (f"steps {self.steps}, kill -9 of the filter at {self.kills}; final bans "
                f"{len(self.final_bans)}; expected {len(self.expected)} shown, "
                f"shop-clear shows {len(self.shown)}: missing {len(self.missing)}, extra "
                f"{len(self.extra)}, stale {len(self.stale)}")


class _Shop:
    """Publishes versions and delistings of the run's products to ``shop-raw``."""

    def __init__(self, cfg: LabConfig) -> None:
        self.topic = cfg.topics.shop_raw
        self.serialize = AvroSerializer(registry_client(cfg), schema_text(),
                                        conf={"auto.register.schemas": False})
        self.context = SerializationContext(self.topic, MessageField.VALUE)
        self.producer = Producer(client_config(cfg, "primary", "shop-publisher", **{
            "acks": "all", "enable.idempotence": True, "linger.ms": 5}))
        self.failures: list[str] = []

    def send(self, product_id: str, product: dict[str, Any] | None) -> None:
        value = None if product is None else self.serialize(product, self.context)
        self.producer.produce(self.topic, value, product_id.encode(),
                              on_delivery=self._delivered)
        self.producer.poll(0)

    def _delivered(self, error: Any, msg: Any) -> None:
        if error is not None:
            self.failures.append(f"{msg.key()!r}: {error}")

    def flush(self) -> None:
        if self.producer.flush(60) or self.failures:
            raise LabError(f"the scenario's records did not all reach {self.topic}: "
                           f"{self.failures[:3]}")


def run_moderation_scenario(cfg: LabConfig, products: int = 120, steps: int = 400,
                            kills: int = 2, seed: int | None = None,
                            pause_s: float = 0.02) -> ModerationOutcome:
    """Play ``steps`` random moderation events on ``products`` new products, with ``kills``
    ``kill -9`` of the filter at random steps; wait for the filter and compare.

    The run's ban entries are removed at the end, whatever happens; its products stay (in
    ``shop-clear`` as the final list allows them, like any shop's).
    """
    rng = random.Random(seed)  # noqa: S311 - a test scenario, not a secret
    run = rng.randint(10**8, 10**9)
    words = [f"запрет{spelled_in_letters(run)}{_LETTERS[i]}" for i in range(6)]
    base = generate_catalog(1, seed=5, banned_share=0.0).products[0]
    ids = [str(run * 1000 + i) for i in range(products)]
    kill_at = set(rng.sample(range(steps // 5, steps), kills))
    shop, api, supervisor = _Shop(cfg), BanApiClient(cfg), lab_supervisor(cfg)
    latest: dict[str, dict[str, Any] | None] = {}
    banned: set[str] = set()
    counts = {"version": 0, "delisting": 0, "ban": 0, "lifted ban": 0}
    outcome_kills: list[str] = []
    killed: list[int] = []
    start = end_offsets(cfg, cfg.topics.shop_clear)
    started = time.monotonic()
    try:
        for step in range(steps):
            roll, pid = rng.random(), rng.choice(ids)
            if roll < 0.62:
                named = rng.sample(words, rng.choice((0, 0, 1, 1, 2)))
                version = {**base, "product_id": pid, "sku": f"MOD-{pid}",
                           "name": " ".join([base["name"], *named]),
                           "description": f"{base['description']} Версия {step}."}
                shop.send(pid, version)
                latest[pid] = version
                counts["version"] += 1
            elif roll < 0.72:
                shop.send(pid, None)
                latest[pid] = None
                counts["delisting"] += 1
            elif roll < 0.86:
                word = rng.choice(words)
                api.add(word).raise_for_status()
                banned.add(word)
                counts["ban"] += 1
            else:
                word = rng.choice(words)
                api.remove(word).raise_for_status()
                banned.discard(word)
                counts["lifted ban"] += 1
            if step in kill_at:
                shop.flush()
                # the keeper may still be starting the last one killed: kill its successor
                wait_until(lambda: supervisor.worker_pid(FILTER), until=lambda pid: pid
                           not in (None, *killed), timeout_s=60, every_s=0.2,
                           what="the filter's keeper to start it again")
                killed.append(supervisor.kill_worker_now(FILTER))
                outcome_kills.append(f"step {step} ({time.monotonic() - started:.1f} s)")
            time.sleep(pause_s)
        shop.flush()
        wait_for_filter_bans(cfg, timeout_s=120)
        wait_for_filter(cfg, timeout_s=300)
        shown = _shown(cfg, start, set(ids))
    finally:
        for word in words:
            api.remove(word)
    expected = {pid: version for pid, version in latest.items()
                if version is not None and banned.isdisjoint(version["name"].split())}
    return ModerationOutcome(expected, shown, counts, outcome_kills, sorted(banned))


def _shown(cfg: LabConfig, start: dict[int, int], ids: set[str]) -> dict[str, dict[str, Any]]:
    """The latest ``shop-clear`` value of each of ``ids`` written since ``start`` (tombstones
    dropped), without the filter's ``filtered_at``."""
    shown = {}
    for key, value in latest_by_key(read_range(cfg, cfg.topics.shop_clear, start)).items():
        pid = key.decode()
        if pid in ids and value is not None:
            product = orjson.loads(value)
            product.pop("filtered_at", None)
            shown[pid] = product
    return shown
