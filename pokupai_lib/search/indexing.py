"""What the ``products`` index should hold and whether it does: the sink's catch-up checks.

The index is right when it has one document per product that ``primary.shop-clear`` holds now
(latest value per key, tombstones removed), each document equal to that product.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import LabTimeoutError
from pokupai_lib.kafka.topic_reader import latest_by_key, read_range
from pokupai_lib.runtime.wait import wait_until
from pokupai_lib.search.connect import CONNECT_SERVICE, connector_status, status_frame
from pokupai_lib.search.elastic import elastic_client, index_count

__all__ = ["expected_documents", "index_report", "mismatched_documents", "sink_dead_letters",
           "wait_for_index"]


def expected_documents(cfg: LabConfig) -> dict[str, dict[str, Any]]:
    """Product id → product, for every product the mirrored ``shop-clear`` holds now."""
    topic = cfg.mirror.remote_topic(cfg.topics.shop_clear)
    latest = latest_by_key(read_range(cfg, topic, cluster=cfg.mirror.target))
    return {key.decode(): json.loads(value) for key, value in latest.items() if value}


def wait_for_index(cfg: LabConfig, timeout_s: float | None = None) -> dict[str, dict[str, Any]]:
    """Wait until the index holds exactly the expected products; return them.

    Raises LabTimeoutError with both counts and the connector's state on timeout.
    """
    timeout_s = cfg.timeouts.catch_up_s if timeout_s is None else timeout_s
    expected = expected_documents(cfg)

    def counts() -> dict[str, int | None]:
        count = index_count(cfg)
        # documents compared one by one only once the count is right
        missing = len(mismatched_documents(cfg, expected)) if count == len(expected) else None
        return {"documents": count, "expected": len(expected), "missing or different": missing}

    try:
        wait_until(counts, until=lambda c: c["missing or different"] == 0, timeout_s=timeout_s,
                   every_s=0.5, what=f"index {cfg.elastic.index} to hold exactly the "
                   "mirrored products", log=cfg.paths.log(CONNECT_SERVICE))
    except LabTimeoutError as exc:
        state = status_frame(connector_status(cfg, cfg.connect.sink_name))
        raise LabTimeoutError(f"{exc}\nconnector:\n{state.to_string(index=False)}") from None
    return expected


def mismatched_documents(cfg: LabConfig, expected: dict[str, dict[str, Any]]) -> list[str]:
    """Expected ids whose document is absent or differs (checked in batches of 1000)."""
    es, ids, missing = elastic_client(cfg), list(expected), []
    for start in range(0, len(ids), 1000):
        docs = es.mget(index=cfg.elastic.index, ids=ids[start:start + 1000])["docs"]
        missing += [d["_id"] for d in docs
                    if not d.get("found") or d["_source"] != expected[d["_id"]]]
    return missing


def index_report(cfg: LabConfig) -> pd.DataFrame:
    """Documents in the index beside the products of the mirrored topic."""
    expected = expected_documents(cfg)
    return pd.DataFrame([{
        "products in primary.shop-clear": len(expected),
        "documents in index": index_count(cfg),
        "missing or different": len(mismatched_documents(cfg, expected)),
    }])


def sink_dead_letters(cfg: LabConfig, start: dict[int, int] | None = None) -> pd.DataFrame:
    """Records the sink could not index, with Connect's error headers (from ``start``)."""
    rows = []
    for record in read_range(cfg, cfg.connect.dlq_topic, start, cluster=cfg.mirror.target):
        headers = record.headers
        trace = headers.get("__connect.errors.exception.stacktrace", "")
        cause = next((line for line in trace.splitlines() if line.startswith("Caused by")),
                     trace.splitlines()[0] if trace else "")
        rows.append({"key": (record.key or b"").decode(errors="replace"),
                     "value": (record.value or b"")[:60].decode(errors="replace"),
                     "error": headers.get("__connect.errors.exception.class.name", ""),
                     "cause": cause[:160],
                     "source": f"{headers.get('__connect.errors.topic', '')}"
                               f"[{headers.get('__connect.errors.partition', '')}]"
                               f"@{headers.get('__connect.errors.offset', '')}"})
    return pd.DataFrame(rows, columns=["key", "value", "error", "cause", "source"])
