"""A small client of the ban-words API, for notebooks and tests (the CLI goes to the topic)."""

from __future__ import annotations

from enum import Enum
from types import TracebackType
from typing import Any

import httpx
from pydantic import SecretStr

from pokupai_lib.config import LabConfig
from pokupai_lib.runtime.moderator_token import read_moderator_token

__all__ = ["MODERATOR", "VALIDATION_CASES", "BanApiClient"]


class _Credential(Enum):
    MODERATOR = "the moderator token the bootstrap wrote (cfg.paths.moderator_token)"


# The default credential of a client: the lab's moderator token, read from its file.
MODERATOR = _Credential.MODERATOR

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
    """Calls ``/api/v1/banned-words`` and friends on the running API.

    Every request carries ``credential`` as ``Authorization: Bearer``: by default
    (:data:`MODERATOR`) the moderator token read from ``cfg.paths.moderator_token``, so writes
    go through; None sends no header (a write is answered 401); another token is sent as given
    (403 unless it is the moderator's). Use it as a context manager, or :meth:`close` it.

    Raises:
        CredentialError: the default credential is asked for and the token file is missing
            or unusable (run `make bootstrap`).
    """

    def __init__(self, cfg: LabConfig,
                 credential: SecretStr | str | _Credential | None = MODERATOR) -> None:
        self.base = f"{cfg.ban_api.url}/api/v1"
        if credential is MODERATOR:
            credential = read_moderator_token(cfg)
        headers = {}
        if credential is not None:
            secret = (credential.get_secret_value() if isinstance(credential, SecretStr)
                      else str(credential))
            headers["Authorization"] = f"Bearer {secret}"
        self.http = httpx.Client(timeout=cfg.timeouts.http_s, headers=headers)

    def __enter__(self) -> BanApiClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        self.http.close()

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
