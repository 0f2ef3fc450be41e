"""A small client of the client API, for notebooks, tests, the CLI and the benchmark."""

from __future__ import annotations

import time
from typing import Any

import httpx

from pokupai_lib.config import LabConfig

__all__ = ["SEARCH_VALIDATION_CASES", "ClientApiClient"]

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

    def search_products(self, id_client: str, word_search: str) -> list[dict[str, Any]]:
        """The found products, best first; raises httpx.HTTPStatusError on a non-2xx answer."""
        response = self.search_response(id_client, word_search)
        response.raise_for_status()
        products: list[dict[str, Any]] = response.json()["products"]
        return products

    def product(self, product_id: str) -> httpx.Response:
        return self.http.get(f"/products/{product_id}")

    def recommendations(self, id_client: str) -> httpx.Response:
        """``GET /recommendations/{id_client}``."""
        return self.http.get(f"/recommendations/{id_client}")

    def health(self) -> dict[str, Any]:
        health: dict[str, Any] = self.http.get("/health").json()
        return health

    def validation_replies(self) -> list[dict[str, Any]]:
        """Send every bad body of SEARCH_VALIDATION_CASES; one dict per case with the answer."""
        rows = []
        for case, body in SEARCH_VALIDATION_CASES.items():
            response = self.http.post("/search", json=body)
            detail = response.json().get("detail", [])
            rows.append({"case": case, "status": response.status_code,
                         "answer": "; ".join(f"{d['field']}: {d['error']}" for d in detail)})
        return rows

    def timed_searches(self, terms: list[str], rounds: int) -> list[float]:
        """Milliseconds of each of ``rounds`` passes over ``terms``, one request at a time."""
        times = []
        for i in range(rounds):
            for term in terms:
                started = time.perf_counter()
                self.search_response(f"latency-{i}", term).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
        return times
