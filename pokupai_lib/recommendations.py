"""Recommendations as the notebooks, tests and benchmark see them: tables, waits, latency,
and the recommender's recovery after a ``kill -9``."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from typing import Any

import httpx
import orjson
import pandas as pd

from pokupai_lib.client_api_client import ClientApiClient
from pokupai_lib.config import LabConfig
from pokupai_lib.lab import lab_supervisor
from pokupai_lib.services import RECOMMENDER, start_recommender
from pokupai_lib.topic_reader import end_offsets, latest_by_key, read_range

__all__ = ["categories_frame", "kill_and_restart_recommender", "output_offsets", "outputs_since",
           "recommendation_latency", "recommendations_frame", "recommender_stats",
           "wait_for_recommendations", "wait_until_caught_up"]

_SHOWN = ["CLIENT_ID", "SEARCH_TERM", "MATCH_TYPE", "MATCHED_CATEGORY", "TOTAL_PRODUCTS",
          "PRODUCTS_IN_CATEGORY"]


def recommender_stats(cfg: LabConfig) -> dict[str, Any]:
    """The recommender's ``/stats``: recommendations by match type, lag, latency."""
    stats: dict[str, Any] = httpx.get(f"{cfg.recommender.url}/stats", timeout=5).json()
    return stats


def wait_until_caught_up(cfg: LabConfig, timeout_s: float = 180.0) -> dict[str, int]:
    """Wait until the recommender has committed everything in its inputs; return the lag."""
    deadline = time.monotonic() + timeout_s
    while True:
        lag: dict[str, int] = recommender_stats(cfg).get("lag") or {}
        if lag and not any(lag.values()):
            return lag
        if time.monotonic() > deadline:
            raise TimeoutError(f"the recommender is still behind after {timeout_s:.0f} s: "
                               f"{lag}; see .lab/logs/{RECOMMENDER}.log")
        time.sleep(0.5)


def categories_frame(cfg: LabConfig) -> pd.DataFrame:
    """``products_by_category`` as a table: the latest row of every category."""
    topic = cfg.recommender.products_by_category
    latest = latest_by_key(read_range(cfg, topic, cluster=cfg.mirror.target))
    rows = [orjson.loads(value) for value in latest.values() if value is not None]
    frame = pd.DataFrame(rows, columns=["CATEGORY", "PRODUCT_COUNT", "PRODUCTS_CSV"])
    return frame.sort_values("CATEGORY").reset_index(drop=True)


def recommendations_frame(rows: list[dict[str, Any]], width: int = 80) -> pd.DataFrame:
    """Recommendation rows as a table, the product list cut to ``width`` characters."""
    frame = pd.DataFrame(rows, columns=_SHOWN)
    frame["PRODUCTS_IN_CATEGORY"] = frame["PRODUCTS_IN_CATEGORY"].map(
        lambda text: text if not isinstance(text, str) or len(text) <= width
        else text[:width - 1] + "…")
    return frame


def wait_for_recommendations(cfg: LabConfig, client: ClientApiClient, id_client: str,
                             count: int = 1, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    """The client's recommendations once at least ``count`` exist (newest first)."""
    deadline = time.monotonic() + timeout_s
    while True:
        response = client.recommendations(id_client)
        if response.status_code == 200 and len(response.json()["recommendations"]) >= count:
            rows: list[dict[str, Any]] = response.json()["recommendations"]
            return rows
        if response.status_code not in (200, 404):
            response.raise_for_status()
        if time.monotonic() > deadline:
            raise TimeoutError(f"client {id_client!r} has no {count} recommendation(s) after "
                               f"{timeout_s:.0f} s (last answer {response.status_code})")
        time.sleep(0.02)


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


def kill_and_restart_recommender(cfg: LabConfig, pause_s: float = 0.5) -> int:
    """``kill -9`` the recommender (no checkpoint, an open transaction), then start it again;
    return the new pid."""
    supervisor = lab_supervisor(cfg)
    pid = supervisor.running_pid(RECOMMENDER)
    if pid is None:
        raise RuntimeError("the recommender is not running; start it with pokupai up")
    os.kill(pid, signal.SIGKILL)
    time.sleep(pause_s)
    return start_recommender(cfg, supervisor)


def output_offsets(cfg: LabConfig) -> dict[int, int]:
    """Where ``SEARCHES_WITH_PRODUCTS`` ends now, to read only what comes after."""
    return end_offsets(cfg, cfg.recommender.searches_with_products, cluster=cfg.mirror.target)
