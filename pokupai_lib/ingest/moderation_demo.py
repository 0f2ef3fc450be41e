"""Moderation as a user sees it, for notebooks 06 and 08: a ban withdraws a live product from
``shop-clear`` (and, once they run, from the index and search); lifting it brings the product
back; a disguised word is caught; and the ban API says why a product is hidden.

Both demos use their own product and word, and end as they began (the ban lifted), so the
notebook can be run again.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from elasticsearch import NotFoundError

from pokupai_lib.bans.client import BanApiClient
from pokupai_lib.bans.moderation_view import ask_why
from pokupai_lib.client_api.client import ClientApiClient
from pokupai_lib.config import LabConfig
from pokupai_lib.ingest.catalog import generate_catalog
from pokupai_lib.ingest.checks import (
    republish,
    shop_clear_products,
    wait_for_filter,
    wait_for_filter_bans,
)
from pokupai_lib.runtime.wait import wait_until
from pokupai_lib.search.elastic import elastic_client

__all__ = ["DEMO_PRODUCT_ID", "DEMO_WORD", "evasion_demo", "moderation_demo"]

DEMO_PRODUCT_ID = "moderation-demo-1"
DEMO_WORD = "модерацио"
_EVASION_ID = "moderation-demo-2"


def _demo_product(product_id: str, name: str) -> dict[str, Any]:
    base = generate_catalog(1, seed=11, banned_share=0.0).products[0]
    return {**base, "product_id": product_id, "sku": f"DEMO-{product_id}", "name": name}


def _indexed(cfg: LabConfig, product_id: str) -> bool:
    try:
        elastic_client(cfg).get(index=cfg.elastic.index, id=product_id)
        return True
    except NotFoundError:
        return False


def _found_by_search(cfg: LabConfig, product_id: str, word: str) -> bool:
    products = ClientApiClient(cfg).search_products("moderation-demo", word)
    return any(p.get("product_id") == product_id for p in products)


def _where(cfg: LabConfig, step: str, product_id: str, word: str, shown: bool,
           downstream: bool) -> dict[str, Any]:
    """Where the product is after ``step``; with ``downstream``, first wait until the index
    agrees with ``shown`` (the mirror and the sink take a moment) and look there too."""
    row = {"step": step, "status": ask_why(cfg, product_id)["status"],
           "in shop-clear": product_id in shop_clear_products(cfg)}
    if downstream:
        wait_until(lambda: _indexed(cfg, product_id), until=lambda indexed: indexed == shown,
                   timeout_s=cfg.timeouts.catch_up_s, every_s=0.5,
                   what=f"{product_id} to be {'in' if shown else 'gone from'} the index")
        row |= {"in the index": _indexed(cfg, product_id),
                "found by search": _found_by_search(cfg, product_id, word)}
    return row


def moderation_demo(cfg: LabConfig, api: BanApiClient, downstream: bool = False
                    ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Publish a product, ban a word of its name, lift the ban; the product's place after
    each step, and the ban API's "why" answer while it was banned.

    Args:
        cfg: the lab configuration.
        api: must carry the moderator token (``BanApiClient(cfg)`` does); a refused write
            raises httpx.HTTPStatusError.
        downstream: also follow the product into the index and search (they run from
            notebook 08 on).
    """
    republish(cfg, _demo_product(DEMO_PRODUCT_ID, f"Часы {DEMO_WORD.capitalize()}"))
    wait_for_filter(cfg)
    steps = [_where(cfg, "published", DEMO_PRODUCT_ID, DEMO_WORD, True, downstream)]
    api.add(DEMO_WORD).raise_for_status()
    try:
        wait_for_filter_bans(cfg)
        wait_for_filter(cfg)
        steps.append(_where(cfg, f"banned {DEMO_WORD!r}", DEMO_PRODUCT_ID, DEMO_WORD, False,
                            downstream))
        why = ask_why(cfg, DEMO_PRODUCT_ID)
    finally:
        api.remove(DEMO_WORD).raise_for_status()
    wait_for_filter_bans(cfg)
    wait_for_filter(cfg)
    steps.append(_where(cfg, f"ban on {DEMO_WORD!r} lifted", DEMO_PRODUCT_ID, DEMO_WORD, True,
                        downstream))
    return pd.DataFrame(steps), why


def evasion_demo(cfg: LabConfig, banned_word: str = "контрафакт") -> dict[str, Any]:
    """Publish a product whose name hides ``banned_word`` (an entry of the MVP's list) behind
    a Latin look-alike «o», a soft hyphen and a left-to-right mark, in another word form; return
    the ban API's answer about it (blocked, by ``banned_word``)."""
    disguised = (banned_word[:1] + "o" + banned_word[2:4] + "\u00ad" + banned_word[4:]
                 + "\u200eа")
    republish(cfg, _demo_product(_EVASION_ID, f"Сумка {disguised}"))
    wait_for_filter(cfg)
    return {"name published": repr(disguised), **ask_why(cfg, _EVASION_ID)}
