"""Tables of the client API's answers and timings, for notebooks, tests and the benchmark."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pokupai_lib.client_api.client import ClientApiClient

__all__ = ["latency_summary", "search_frame", "validation_answers"]

_SEARCH_COLUMNS = ["product_id", "name", "price", "category", "score"]


def search_frame(client: ClientApiClient, id_client: str, word_search: str) -> pd.DataFrame:
    """The found products as a table (id, name, price, category, score), best first.

    Raises httpx.HTTPStatusError on a non-2xx answer.
    """
    products = client.search_products(id_client, word_search)
    return pd.DataFrame(products, columns=[*_SEARCH_COLUMNS, "currency"])[_SEARCH_COLUMNS]


def validation_answers(client: ClientApiClient) -> pd.DataFrame:
    """Send every bad body of SEARCH_VALIDATION_CASES; one row per case (case, status, answer)."""
    return pd.DataFrame(client.validation_replies())


def latency_summary(times_ms: list[float]) -> pd.DataFrame:
    """p50 / p90 / p99 / max of request times, in milliseconds."""
    values = np.asarray(times_ms)
    return pd.DataFrame([{"requests": len(values),
                          **{f"p{q}": round(float(np.percentile(values, q)), 1)
                             for q in (50, 90, 99)},
                          "max": round(float(values.max()), 1)}])
