"""A small client of the client API, for notebooks, tests, the CLI and the benchmark."""

from __future__ import annotations

import time
from typing import Any

import httpx
import numpy as np
import pandas as pd

from pokupai_lib.config import LabConfig

__all__ = ["SEARCH_VALIDATION_CASES", "ClientApiClient", "latency_summary"]

# Bodies /search must refuse with 422, and what each one tries.
SEARCH_VALIDATION_CASES: dict[str, dict[str, Any]] = {
    "empty search": {"id_client": "123", "word_search": ""},
    "whitespace only": {"id_client": "123", "word_search": "  \t"},
    "missing id_client": {"word_search": "Красота"},
    "id_client not a string": {"id_client": 123, "word_search": "Красота"},
    "over 200 characters": {"id_client": "123", "word_search": "а" * 201},
    "unknown field": {"id_client": "123", "word_search": "часы", "size": 1000},
}


class ClientApiClient:
    """Calls ``/search``, ``/products/{id}``, ``/recommendations/{id}`` and ``/health``."""

    def __init__(self, cfg: LabConfig, timeout_s: float | None = None) -> None:
        self.cfg = cfg
        self.http = httpx.Client(base_url=cfg.client_api.url,
                                 timeout=cfg.timeouts.http_s if timeout_s is None else timeout_s)

    def search_response(self, id_client: str, word_search: str) -> httpx.Response:
        """The MVP's call: ``POST /search {"id_client", "word_search"}``."""
        return self.http.post("/search", json={"id_client": id_client,
                                               "word_search": word_search})

    def search(self, id_client: str, word_search: str) -> pd.DataFrame:
        """The found products as a table; raises httpx.HTTPStatusError on a non-2xx answer."""
        response = self.search_response(id_client, word_search)
        response.raise_for_status()
        columns = ["product_id", "name", "price", "category", "score"]
        return pd.DataFrame(response.json()["products"], columns=[*columns, "currency"])[columns]

    def product(self, product_id: str) -> httpx.Response:
        return self.http.get(f"/products/{product_id}")

    def recommendations(self, id_client: str) -> httpx.Response:
        """``GET /recommendations/{id_client}``."""
        return self.http.get(f"/recommendations/{id_client}")

    def health(self) -> dict[str, Any]:
        health: dict[str, Any] = self.http.get("/health").json()
        return health

    def validation_answers(self) -> pd.DataFrame:
        """Send every bad body of SEARCH_VALIDATION_CASES; one row per case with the answer."""
        rows = []
        for case, body in SEARCH_VALIDATION_CASES.items():
            response = self.http.post("/search", json=body)
            detail = response.json().get("detail", [])
            rows.append({"case": case, "status": response.status_code,
                         "answer": "; ".join(f"{d['field']}: {d['error']}" for d in detail)})
        return pd.DataFrame(rows)

    def timed_searches(self, terms: list[str], rounds: int) -> list[float]:
        """Milliseconds of each of ``rounds`` passes over ``terms``, one request at a time."""
        times = []
        for i in range(rounds):
            for term in terms:
                started = time.perf_counter()
                self.search_response(f"latency-{i}", term).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
        return times


def latency_summary(times_ms: list[float]) -> pd.DataFrame:
    """p50 / p90 / p99 / max of request times, in milliseconds."""
    values = np.asarray(times_ms)
    return pd.DataFrame([{"requests": len(values),
                          **{f"p{q}": round(float(np.percentile(values, q)), 1)
                             for q in (50, 90, 99)},
                          "max": round(float(values.max()), 1)}])
