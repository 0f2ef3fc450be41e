"""Tables of the ban-words API's answers, for notebooks and tests."""

from __future__ import annotations

from typing import Any

import httpx
import pandas as pd

from pokupai_lib.bans.client import MODERATOR, BanApiClient
from pokupai_lib.config import LabConfig

__all__ = ["WRONG_TOKEN", "moderator_answers", "validation_answers"]

# What a caller who guesses sends: a token of the right shape that is not the moderator's.
WRONG_TOKEN = "not-the-moderator-token-" + "x" * 24


def validation_answers(api: BanApiClient) -> pd.DataFrame:
    """Send every bad body of VALIDATION_CASES; one row per case (case, status, answer)."""
    return pd.DataFrame(api.validation_replies())


def _row(who: str, request: str, response: httpx.Response, word: str) -> dict[str, Any]:
    """One caller's answer: the detail of a refusal, or what a read or a ban did."""
    body = response.json()
    if "detail" in body:
        answer = str(body["detail"])
    elif "words" in body:
        answer = f"{word!r} is {'' if word in body['words'] else 'not '}listed"
    else:
        answer = f"added {body['added']}, already present {body['already_present']}"
    return {"who": who, "request": request, "status": response.status_code, "answer": answer}


def moderator_answers(cfg: LabConfig, word: str = "бан") -> pd.DataFrame:
    """Who may change the ban list: one row per caller (who, request, status, answer).

    Anyone reads the list; banning ``word`` without a token is refused 401, with a wrong token
    403, and goes through with the moderator token. Ban a ``word`` that is banned already (the
    MVP's call bans «бан») and the list is left as it was.

    Raises:
        CredentialError: the moderator token file is missing or unusable (`make bootstrap`).
    """
    with BanApiClient(cfg, credential=None) as anyone:
        rows = [_row("anyone", "GET banned-words",
                     anyone.http.get(f"{anyone.base}/banned-words"), word)]
    callers = {"no token": None, "a wrong token": WRONG_TOKEN, "the moderator": MODERATOR}
    for who, credential in callers.items():
        with BanApiClient(cfg, credential=credential) as api:
            rows.append(_row(who, f"POST banned-words/add {word!r}", api.add(word), word))
    return pd.DataFrame(rows)
