"""Moderation on the real stack: retroactive and reversible bans, delistings, kill -9."""

from __future__ import annotations

import httpx
import pytest
from lab_fixture import Lab

from pokupai_lib.bans.moderation_view import ask_why
from pokupai_lib.errors import InvalidInputError
from pokupai_lib.ingest.moderation_checks import run_moderation_scenario
from pokupai_lib.ingest.moderation_demo import evasion_demo


def test_shop_clear_is_what_the_final_ban_list_allows_whatever_the_interleaving(
        lab: Lab) -> None:
    outcome = run_moderation_scenario(lab.cfg, products=120, steps=400, kills=2)
    assert len(outcome.kills) == 2, outcome.summary()
    assert outcome.steps["ban"] and outcome.steps["lifted ban"], outcome.summary()
    assert outcome.steps["delisting"], outcome.summary()
    assert (outcome.missing, outcome.extra, outcome.stale) == ([], [], []), outcome.summary()
    assert outcome.expected, outcome.summary()


def test_the_ban_api_says_why_a_product_is_hidden_and_404_for_one_never_judged(
        lab: Lab) -> None:
    evaded = evasion_demo(lab.cfg)
    assert evaded["status"] == "blocked", evaded
    assert [(b["rule"], b["term"]) for b in evaded["blocked_by"]] == [("word", "контрафакт")]
    with pytest.raises(InvalidInputError, match="never judged"):
        ask_why(lab.cfg, "no-such-product-ever")
    answer = httpx.get(f"{lab.cfg.ban_api.url}/api/v1/moderation/%20")
    assert answer.status_code == 422, answer.text
