"""A small client of the ban-words API, for notebooks and tests (the CLI goes to the topic)."""

from __future__ import annotations

from typing import Any

import httpx

from pokupai_lib.config import LabConfig

__all__ = ["VALIDATION_CASES", "BanApiClient"]

# Bodies the API must refuse with 422, and what each one tries.
VALIDATION_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "empty word": ("add", {"word": ""}),
    "whitespace only": ("add", {"word": "   \t "}),
    "over 100 characters": ("add", {"word": "а" * 101}),
    "not a string": ("add", {"word": 123}),
    "missing field": ("add", {"term": "бан"}),
    "bad item in bulk": ("bulk-add", {"words": ["хороший", " ", "тоже"]}),
    "too many items": ("bulk-add", {"words": [f"слово{i}" for i in range(1001)]}),
}


class BanApiClient:
    """Calls ``/api/v1/banned-words`` and friends on the running API."""

    def __init__(self, cfg: LabConfig) -> None:
        self.base = f"{cfg.ban_api.url}/api/v1"
        self.http = httpx.Client(timeout=cfg.timeouts.http_s)

    def bulk_add(self, words: list[str]) -> httpx.Response:
        """The MVP's call: ``POST /api/v1/banned-words/bulk-add {"words": [...]}``."""
        return self.http.post(f"{self.base}/banned-words/bulk-add", json={"words": words})

    def add(self, word: str, resource: str = "banned-words", field: str = "word"
            ) -> httpx.Response:
        return self.http.post(f"{self.base}/{resource}/add", json={field: word})

    def remove(self, word: str, resource: str = "banned-words", field: str = "word"
               ) -> httpx.Response:
        return self.http.post(f"{self.base}/{resource}/remove", json={field: word})

    def words(self) -> list[str]:
        words: list[str] = self.http.get(f"{self.base}/banned-words").json()["words"]
        return words

    def validation_replies(self) -> list[dict[str, Any]]:
        """Send every bad body of VALIDATION_CASES; one dict per case with the API's answer."""
        rows = []
        for case, (path, body) in VALIDATION_CASES.items():
            response = self.http.post(f"{self.base}/banned-words/{path}", json=body)
            detail = response.json().get("detail", [])
            rows.append({"case": case, "status": response.status_code,
                         "answer": "; ".join(f"{d['field']}: {d['error']}" for d in detail)})
        return rows
