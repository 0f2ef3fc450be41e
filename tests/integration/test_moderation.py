"""Moderation on the real stack: retroactive and reversible bans, delistings, kill -9."""

from __future__ import annotations

from lab_fixture import Lab

from pokupai_lib.ingest.moderation_checks import run_moderation_scenario


def test_shop_clear_is_what_the_final_ban_list_allows_whatever_the_interleaving(
        lab: Lab) -> None:
    outcome = run_moderation_scenario(lab.cfg, products=120, steps=400, kills=2)
    assert len(outcome.kills) == 2, outcome.summary()
    assert outcome.steps["ban"] and outcome.steps["lifted ban"], outcome.summary()
    assert outcome.steps["delisting"], outcome.summary()
    assert (outcome.missing, outcome.extra, outcome.stale) == ([], [], []), outcome.summary()
    assert outcome.expected, outcome.summary()
