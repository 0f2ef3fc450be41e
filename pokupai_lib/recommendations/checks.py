"""Recommendations as the notebooks, tests and benchmark see them: tables, waits, latency,
and the recommender's recovery after a ``kill -9``."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar, cast

import httpx
import orjson
import pandas as pd
from confluent_kafka import Producer

from pokupai_lib.client_api.client import ClientApiClient
from pokupai_lib.client_api.events import SearchEvent
from pokupai_lib.config import LabConfig
from pokupai_lib.kafka.clients import client_config
from pokupai_lib.kafka.topic_reader import end_offsets, latest_by_key, read_range
from pokupai_lib.recommendations.row_checks import category_problems, live_products
from pokupai_lib.runtime.services import RECOMMENDER, recommender_spec
from pokupai_lib.runtime.supervisor import lab_supervisor
from pokupai_lib.runtime.wait import wait_until

__all__ = ["RecoveryReport", "categories_frame", "category_mismatches",
           "kill_and_restart_recommender", "kill_during_searches", "output_offsets",
           "outputs_since", "recommend_after_search", "recommendation_latency",
           "recommendations_frame", "recommender_stats", "search_demand",
           "wait_for_recommendations", "wait_until_caught_up"]

T = TypeVar("T")

_SHOWN = ["CLIENT_ID", "SEARCH_TERM", "MATCH_TYPE", "MATCHED_CATEGORY", "TOTAL_PRODUCTS",
          "PRODUCTS_IN_CATEGORY"]


def recommender_stats(cfg: LabConfig) -> dict[str, Any]:
    """The recommender's ``/stats``: recommendations by match type, lag, latency."""
    stats: dict[str, Any] = httpx.get(f"{cfg.recommender.url}/stats", timeout=5).json()
    return stats


def wait_until_caught_up(cfg: LabConfig, timeout_s: float | None = None) -> dict[str, int]:
    """Wait until the recommender has committed everything in its inputs and its own
    repartition topics, by a measurement begun after this call; return the lag per topic."""
    timeout_s = cfg.timeouts.catch_up_s if timeout_s is None else timeout_s
    asked = time.time()

    def lag_measured_since_asked() -> dict[str, int] | None:
        stats = recommender_stats(cfg)
        # a recommender started from older code does not say when: its lag is taken as is
        fresh = "lag_measured_from" not in stats or (stats["lag_measured_from"] or 0) >= asked
        return (stats.get("lag") or {}) if fresh else None

    lag: dict[str, int] = wait_until(
        lag_measured_since_asked, until=lambda lag: bool(lag) and not any(lag.values()),
        timeout_s=timeout_s, every_s=0.5, what="the recommender to commit everything in its "
        "inputs (state: lag per topic, None until measured after the wait began)",
        log=cfg.paths.log(RECOMMENDER))
    return lag



def categories_frame(cfg: LabConfig) -> pd.DataFrame:
    """``products_by_category`` as a table: the latest row of every category (its exact
    ``PRODUCT_COUNT`` and the newest N names in ``PRODUCTS_CSV``)."""
    topic = cfg.recommender.products_by_category
    latest = latest_by_key(read_range(cfg, topic, cluster=cfg.mirror.target))
    rows = [orjson.loads(value) for value in latest.values() if value is not None]
    frame = pd.DataFrame(rows, columns=["CATEGORY", "PRODUCT_COUNT", "PRODUCTS_CSV"])
    return frame.sort_values("CATEGORY").reset_index(drop=True)


def category_mismatches(cfg: LabConfig) -> list[str]:
    """``"category: what is wrong"`` for each ``products_by_category`` row that breaks its
    promise against the live products of ``primary.shop-clear`` (each product by the last
    version the recommender accepted): ``PRODUCT_COUNT`` exact, every name shown a live
    product of the category, min(N, count) names unless products have left the category
    (then no more than N). Empty when all agree; see :mod:`pokupai_lib.recommendations.row_checks`.
    """
    products = read_range(cfg, cfg.mirror.remote_topic(cfg.topics.shop_clear),
                          cluster=cfg.mirror.target)
    live = live_products((record.key, record.value) for record in products)
    latest = latest_by_key(read_range(cfg, cfg.recommender.products_by_category,
                                      cluster=cfg.mirror.target))
    rows = {key.decode(): orjson.loads(value) for key, value in latest.items()
            if value is not None}
    problems = category_problems(live, rows, cfg.recommender.shown_per_category)
    return [f"{category}: {problem}" for category, problem in problems.items()]


def search_demand(cfg: LabConfig, top: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What clients look for, from every ``SEARCHES_WITH_PRODUCTS`` row: searches per matched
    category (and how they matched), and the most frequent terms that matched nothing."""
    records = read_range(cfg, cfg.recommender.searches_with_products, cluster=cfg.mirror.target)
    rows = pd.DataFrame([orjson.loads(r.value) for r in records if r.value is not None],
                        columns=["CLIENT_ID", "SEARCH_TERM", "MATCHED_CATEGORY", "MATCH_TYPE"])
    matched = rows.dropna(subset=["MATCHED_CATEGORY"])
    by_category = (matched.pivot_table(index="MATCHED_CATEGORY", columns="MATCH_TYPE",
                                       values="CLIENT_ID", aggfunc="count", fill_value=0)
                   .assign(clients=matched.groupby("MATCHED_CATEGORY")["CLIENT_ID"].nunique()))
    by_category["searches"] = by_category.drop(columns="clients").sum(axis=1)
    by_category = by_category.sort_values("searches", ascending=False)
    unmatched = (rows[rows["MATCHED_CATEGORY"].isna()]["SEARCH_TERM"].str.lower()
                 .value_counts().head(top).rename_axis("term").to_frame("searches"))
    return by_category, unmatched


def recommendations_frame(rows: list[dict[str, Any]], width: int = 80) -> pd.DataFrame:
    """Recommendation rows as a table, the product list cut to ``width`` characters."""
    frame = pd.DataFrame(rows, columns=_SHOWN)
    frame["TOTAL_PRODUCTS"] = frame["TOTAL_PRODUCTS"].astype("Int64")
    frame["PRODUCTS_IN_CATEGORY"] = frame["PRODUCTS_IN_CATEGORY"].map(
        lambda text: text if not isinstance(text, str) or len(text) <= width
        else text[:width - 1] + "…")
    return frame


class _Answer(NamedTuple):
    """One answer of ``GET /recommendations/{id}``: its status and what ``pick`` found."""

    status: int
    found: object


def _poll_recommendations(client: ClientApiClient, id_client: str,
                          pick: Callable[[list[dict[str, Any]]], T | None],
                          timeout_s: float, missing: str, log: Path | None) -> T:
    """Ask ``GET /recommendations/{id}`` every 20 ms until ``pick`` finds what it wants in
    the rows (a 404 counts as no rows yet); LabTimeoutError naming ``missing`` otherwise."""

    def answer() -> _Answer:
        response = client.recommendations(id_client)
        if response.status_code not in (200, 404):
            response.raise_for_status()
        rows = response.json()["recommendations"] if response.status_code == 200 else []
        return _Answer(response.status_code, pick(rows))

    found = wait_until(answer, until=lambda a: a.found is not None, timeout_s=timeout_s,
                       every_s=0.02, what=missing, log=log)
    return cast(T, found.found)


def wait_for_recommendations(cfg: LabConfig, client: ClientApiClient, id_client: str,
                             count: int = 1, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    """The client's recommendations once at least ``count`` exist (newest first)."""
    return _poll_recommendations(
        client, id_client, lambda rows: rows if len(rows) >= count else None, timeout_s,
        f"{count} recommendation(s) for client {id_client!r}", cfg.paths.log(RECOMMENDER))


def recommend_after_search(client: ClientApiClient, id_client: str, word: str,
                           timeout_s: float = 30.0, log: Path | None = None) -> dict[str, Any]:
    """``POST /search`` as the client, then the recommendation of exactly that search (a
    client's earlier searches are skipped by their time); ``log`` is named on a timeout."""
    before = datetime.now(UTC).isoformat(timespec="milliseconds")
    client.search_response(id_client, word).raise_for_status()

    def this_search(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
        return next((row for row in rows if row["SEARCH_TERM"] == word
                     and str(row["SEARCHED_AT"]) >= before), None)

    return _poll_recommendations(client, id_client, this_search, timeout_s,
                                 f"the recommendation of {id_client!r}'s search {word!r}", log)


def recommendation_latency(cfg: LabConfig, searches: int = 50, word: str = "Красота",
                           pause_s: float = 0.2, run: str | None = None) -> pd.Series:
    """Seconds from ``POST /search`` to the recommendation served by
    ``GET /recommendations/{id}``, one fresh client per search."""
    client = ClientApiClient(cfg)
    run = run or f"lat{time.time_ns() % 10**9}"
    seconds = []
    for n in range(searches):
        id_client = f"{run}-{n}"
        started = time.monotonic()
        client.search_response(id_client, word).raise_for_status()
        wait_for_recommendations(cfg, client, id_client)
        seconds.append(time.monotonic() - started)
        time.sleep(pause_s)
    return pd.Series(seconds, name="search → recommendation, s")


def outputs_since(cfg: LabConfig, start: dict[int, int]) -> Counter[str]:
    """How many ``SEARCHES_WITH_PRODUCTS`` rows each client got after ``start`` (committed
    rows only: the reader is read_committed)."""
    records = read_range(cfg, cfg.recommender.searches_with_products, start,
                         cluster=cfg.mirror.target)
    return Counter(r.key.decode() for r in records if r.key is not None)


def kill_and_restart_recommender(cfg: LabConfig, timeout_s: float = 120.0) -> int:
    """``kill -9`` the recommender (no checkpoint, an open transaction) and wait until its
    keeper has started it again and it is ready; return the new pid."""
    return lab_supervisor(cfg).kill_worker(recommender_spec(cfg), timeout_s)


def output_offsets(cfg: LabConfig) -> dict[int, int]:
    """Where ``SEARCHES_WITH_PRODUCTS`` ends now, to read only what comes after."""
    return end_offsets(cfg, cfg.recommender.searches_with_products, cluster=cfg.mirror.target)


@dataclass(frozen=True)
class RecoveryReport:
    """Searches sent across a ``kill -9`` of the recommender, and what came out."""

    searches: int
    done_before_kill: int
    recommendations: int
    missing: list[str]
    repeated: dict[str, int]

    @property
    def mid_stream(self) -> bool:
        """Work was left when the kill came: some searches recommended, not all."""
        return 0 < self.done_before_kill < self.searches

    def summary(self) -> str:
        return (f"searches {self.searches}, killed mid-stream (0 < recommended before the kill "
                f"< {self.searches}): {self.mid_stream}, recommendations "
                f"{self.recommendations}, missing {len(self.missing)}, "
                f"repeated {len(self.repeated)}")


def kill_during_searches(cfg: LabConfig, searches: int = 400, interval_s: float = 0.01,
                         words: tuple[str, ...] = ("Красота", "часы")) -> RecoveryReport:
    """Send ``searches`` search events (one fresh client each) to ``client-searches``, kill -9
    the recommender once a quarter of them are recommended, restart it, and count the
    committed recommendations of each client."""
    run = uuid.uuid4().hex[:8]
    clients = [f"kill-{run}-{n}" for n in range(searches)]
    start = output_offsets(cfg)
    producer = Producer(client_config(cfg, "primary", "admin", acks="all",
                                      **{"enable.idempotence": True, "linger.ms": 5}))

    def send() -> None:
        for n, client in enumerate(clients):
            event = SearchEvent.now(client, words[n % len(words)])
            producer.produce(cfg.topics.client_searches, key=client.encode(),
                             value=event.to_json())
            producer.poll(0)
            time.sleep(interval_s)
        producer.flush(30)

    sender = threading.Thread(target=send, name="searches")
    sender.start()
    done = wait_until(lambda: sum(outputs_since(cfg, start).values()),
                      until=lambda recommended: recommended >= searches // 4, timeout_s=60,
                      every_s=0.2, what=f"{searches // 4} of {searches} searches recommended "
                      "before the kill", log=cfg.paths.log(RECOMMENDER))
    kill_and_restart_recommender(cfg)
    sender.join()
    wait_until_caught_up(cfg)
    outputs = outputs_since(cfg, start)
    return RecoveryReport(searches=searches, done_before_kill=done,
                          recommendations=sum(outputs.values()),
                          missing=sorted(set(clients) - set(outputs)),
                          repeated={c: n for c, n in outputs.items() if n > 1})
