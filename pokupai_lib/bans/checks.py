"""Tables of the ban-words API's answers, for notebooks and tests."""

from __future__ import annotations

import pandas as pd

from pokupai_lib.bans.client import BanApiClient

__all__ = ["validation_answers"]


def validation_answers(api: BanApiClient) -> pd.DataFrame:
    """Send every bad body of VALIDATION_CASES; one row per case (case, status, answer)."""
    return pd.DataFrame(api.validation_replies())
