"""Is every stream stage still working? One new product, followed from the shop to search and
into a recommendation: the check that ends every outage and fault scenario."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from pokupai_lib.client_api.client import ClientApiClient
from pokupai_lib.config import LabConfig
from pokupai_lib.ingest.catalog import generate_catalog
from pokupai_lib.ingest.checks import republish, wait_for_filter
from pokupai_lib.mirroring.checks import wait_for_mirror
from pokupai_lib.mirroring.mirror_maker import MIRROR_SERVICE
from pokupai_lib.recommendations.checks import (
    recommend_after_search,
    wait_until_caught_up,
)
from pokupai_lib.runtime.services import FILTER, RECOMMENDER
from pokupai_lib.runtime.wait import wait_until
from pokupai_lib.search.connect import CONNECT_SERVICE
from pokupai_lib.search.indexing import wait_for_index

__all__ = ["StageProbe", "probe_every_stage", "wait_searchable", "wait_until_settled"]


@dataclass(frozen=True)
class StageProbe:
    """One product's way through the platform, with the seconds each stage took."""

    product_id: str
    word: str
    category: str
    searchable_s: float
    recommended_category: str | None
    recommended_s: float

    @property
    def ok(self) -> bool:
        return self.recommended_category == self.category

    def summary(self) -> str:
        return (f"published → searchable in {self.searchable_s:.1f} s; search {self.word!r} → "
                f"recommended {self.recommended_category!r} in {self.recommended_s:.1f} s")


def wait_searchable(client: ClientApiClient, product_id: str, timeout_s: float | None = None,
                    logs: Sequence[Path] = ()) -> dict[str, Any]:
    """The product as the client API serves it from the index, once it is there; ``logs``
    (those of the stages on its way, by default the filter's, MirrorMaker 2's and Connect's)
    are named on a timeout. A client API restarting meanwhile is waited through."""
    timeout_s = client.cfg.timeouts.catch_up_s if timeout_s is None else timeout_s
    response = wait_until(lambda: client.product(product_id),
                          until=lambda answer: answer.status_code == 200, timeout_s=timeout_s,
                          every_s=0.2, what=f"product {product_id} searchable",
                          ignore=(httpx.TransportError,), log=logs or _pipeline_logs(client.cfg))
    product: dict[str, Any] = response.json()
    return product


def _pipeline_logs(cfg: LabConfig) -> list[Path]:
    return [cfg.paths.log(name) for name in (FILTER, MIRROR_SERVICE, CONNECT_SERVICE)]


def probe_every_stage(cfg: LabConfig, timeout_s: float | None = None) -> StageProbe:
    """Publish one new product with a word no other product has, wait until the client API
    finds it (filter → MirrorMaker 2 → Connect → Elasticsearch), then search that word as a
    new client and wait for its recommendation (recommender), which must name the product's
    category. Raises LabError naming the stage that did not answer in ``timeout_s``."""
    timeout_s = cfg.timeouts.catch_up_s if timeout_s is None else timeout_s
    token = f"probe{uuid.uuid4().hex[:10]}"
    product = dict(generate_catalog(1, seed=7, banned_share=0.0,
                                    first_id=int(time.time() * 1000) % 10**12).products[0])
    product["name"] = f"Контрольный товар {token}"
    client = ClientApiClient(cfg)
    started = time.monotonic()
    republish(cfg, product)
    wait_searchable(client, product["product_id"], timeout_s, _pipeline_logs(cfg))
    searchable_s = time.monotonic() - started
    wait_until_caught_up(cfg, timeout_s)
    row = recommend_after_search(client, f"probe-{token}", token, timeout_s,
                                 cfg.paths.log(RECOMMENDER))
    return StageProbe(product["product_id"], token, product["category"], searchable_s,
                      row.get("MATCHED_CATEGORY"), time.monotonic() - started - searchable_s)


def wait_until_settled(cfg: LabConfig, timeout_s: float | None = None) -> dict[str, float]:
    """Wait until every stage has done all the work it was given: the filter has committed
    ``shop-raw``, MirrorMaker 2 has copied every record, the index holds exactly the mirrored
    products and the recommender has caught up. Return the seconds each wait took.

    A measurement taken before this would time the backlog of what ran before it (seen: the
    freshness bench started while 200,000 products of the throughput bench were indexed)."""
    waits = {"filter": wait_for_filter, "mirror": wait_for_mirror, "index": wait_for_index,
             "recommender": wait_until_caught_up}
    took: dict[str, float] = {}
    for stage, wait in waits.items():
        started = time.monotonic()
        wait(cfg, timeout_s)
        took[stage] = time.monotonic() - started
    return took
