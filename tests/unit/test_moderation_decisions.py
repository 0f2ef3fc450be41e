"""The filter's moderation state and its decisions, without Kafka: retroactive, reversible."""

from __future__ import annotations

import orjson
import pytest

from pokupai_lib.bans.rules import BanList, BanMatch
from pokupai_lib.ingest.decisions import decide, decisions_for_ban_changes, rejudge
from pokupai_lib.ingest.moderation import (
    Moderation,
    ModerationState,
    decode_moderation,
    decode_record,
    encode_moderation,
)
from pokupai_lib.ingest.verdicts import Verdict


def _version(product_id: str, name: str, sku: str = "SKU-0") -> bytes:
    return orjson.dumps({"product_id": product_id, "name": name, "sku": sku,
                         "filtered_at": "t0"})


def _live(product_id: str, name: str, sku: str = "SKU-0") -> Moderation:
    return Moderation.of_version("live", "t0", _version(product_id, name, sku))


def _state(**names: str) -> ModerationState:
    state = ModerationState()
    state.apply({pid.encode(): _live(pid, name) for pid, name in names.items()})
    return state


def _changes(state: ModerationState, bans: BanList, applied: BanList | None) -> dict[str, str]:
    decisions = decisions_for_ban_changes(
        state, bans, bans.entries(), None if applied is None else applied.entries(), "t1")
    state.apply({d.key: d.moderation for d in decisions})
    return {d.key.decode(): ("tombstone" if d.clear is None else "version") if d.emit
            else "state only" for d in decisions}


def test_a_record_keeps_its_version_bytes_and_blocking_entries_through_the_topic() -> None:
    blocked = Moderation.of_version("blocked", "t0", _version("1", "Контрафакт"),
                                    (BanMatch("word", "контрафакт", "name"),))
    back = decode_moderation(encode_moderation("1", blocked))
    assert back == blocked
    assert back.words == ("контрафакт",)
    delisted = decode_moderation(encode_moderation("2", Moderation("delisted", "t3")))
    assert delisted.status == "delisted" and delisted.version is None


def test_a_record_that_is_not_moderation_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="unknown status"):
        decode_moderation(b'{"status": "maybe", "since": "t"}')
    state = ModerationState()
    assert state.load([decode_record(b"1", b"not json"),
                       decode_record(b"2", encode_moderation("2", _live("2", "a")))])
    assert len(state) == 1


def test_records_taken_one_by_one_keep_only_the_latest_version_of_each_product() -> None:
    state = ModerationState()
    problems = [state.take(decode_record(b"1", encode_moderation("1", _live("1", "old")))),
                state.take(decode_record(b"1", b"{")),
                state.take(decode_record(b"1", encode_moderation("1", _live("1", "new"))))]
    assert problems[0] is None and problems[2] is None
    assert problems[1] is not None and problems[1].startswith("b'1': not a moderation record")
    assert len(state) == 1 and state.counts() == {"live": 1}
    assert state.get(b"1").product()["name"] == "new"  # type: ignore[union-attr]


def test_a_tombstone_on_the_state_topic_forgets_the_product() -> None:
    state = ModerationState()
    state.load([decode_record(b"1", encode_moderation("1", _live("1", "a"))),
                decode_record(b"1", None)])
    assert state.get(b"1") is None


def test_decisions_on_arriving_records_keep_since_while_the_status_holds() -> None:
    value = _version("1", "часы")
    live = decide(b"1", Verdict(value=value, words=("часы",)), None, "t1")
    assert (live.moderation.status, live.clear, live.emit) == ("live", value, True)
    again = decide(b"1", Verdict(value=value), live.moderation, "t2")
    assert again.moderation.since == "t1"
    banned = decide(b"1", Verdict(value=value, banned=(BanMatch("word", "часы", "name"),)),
                    again.moderation, "t3")
    assert (banned.moderation.status, banned.moderation.since, banned.clear) == (
        "blocked", "t3", None)
    assert banned.moderation.version == value  # kept, so lifting the ban can bring it back
    gone = decide(b"1", Verdict(delisted=True), banned.moderation, "t4")
    assert (gone.moderation.status, gone.clear, gone.emit) == ("delisted", None, True)


def test_a_new_ban_withdraws_the_live_products_it_matches_and_only_those() -> None:
    state = _state(**{"1": "Контрафакт часы", "2": "Часы", "3": "Банан"})
    bans = BanList()
    assert _changes(state, bans, applied=None) == {}
    before = BanList()
    bans.add("контрафакт")
    bans.add("бан")
    assert _changes(state, bans, applied=before) == {"1": "tombstone"}
    blocked = state.get(b"1")
    assert blocked is not None and blocked.status == "blocked"
    assert [m.term for m in blocked.blocked_by] == ["контрафакт"]


def test_removing_a_ban_brings_back_what_it_alone_blocked() -> None:
    state = _state(**{"1": "Контрафакт подделка", "2": "Контрафакт часы"})
    bans = BanList()
    bans.add("контрафакт")
    bans.add("подделка")
    _changes(state, bans, applied=BanList())
    applied = BanList()
    applied.add("контрафакт")
    applied.add("подделка")
    bans.remove("контрафакт")
    assert _changes(state, bans, applied=applied) == {"1": "state only", "2": "version"}
    still = state.get(b"1")
    assert still is not None and [m.term for m in still.blocked_by] == ["подделка"]
    back = state.get(b"2")
    assert back is not None and back.status == "live" and back.since == "t1"


def test_at_start_everything_is_brought_in_line_whatever_was_applied_before() -> None:
    state = _state(**{"1": "Подделка"})
    state.apply({b"2": Moderation.of_version("blocked", "t0", _version("2", "Контрафакт"),
                                             (BanMatch("word", "контрафакт", "name"),))})
    state.apply({b"3": Moderation("delisted", "t0")})
    bans = BanList()
    bans.add("подделка")
    # a kill -9 came after these ban changes and before they were applied
    assert _changes(state, bans, applied=None) == {"1": "tombstone", "2": "version"}
    assert _changes(state, bans, applied=None) == {}  # idempotent


def test_product_id_and_sku_bans_reach_live_products_too() -> None:
    state = ModerationState()
    state.apply({b"7": _live("7", "Часы", sku="XYZ-7"), b"8": _live("8", "Часы", sku="XYZ-8")})
    bans = BanList()
    bans.add("XYZ-8", "sku")
    bans.add("7", "product_id")
    assert _changes(state, bans, applied=BanList()) == {"7": "tombstone", "8": "tombstone"}


def test_rejudging_a_delisted_product_changes_nothing() -> None:
    assert rejudge(b"1", Moderation("delisted", "t0"), BanList(), "t1") is None


def test_a_new_ban_withdraws_live_word_forms_and_look_alikes_but_not_other_words() -> None:
    state = _state(**{"1": "Подделки часов", "2": "Часы кoнтрафакт", "3": "Контрафактный",
                      "4": "Баня", "5": "Часы"})
    bans = BanList()
    bans.add("подделка")
    bans.add("контрафакт")
    bans.add("бан")
    assert _changes(state, bans, applied=BanList()) == {"1": "tombstone", "2": "tombstone"}


def test_every_blocking_entry_is_named_each_once_at_its_first_field() -> None:
    bans = BanList()
    for word in ("бан", "поддельный товар", "подделка"):
        bans.add(word)
    bans.add("X-1", "sku")
    product = {"product_id": "1", "sku": "X-1", "name": "Баны и поддельного товара",
               "description": "подделки, баны"}
    assert [(m.rule, m.term, m.field) for m in bans.matches(product)] == [
        ("sku", "X-1", "sku"), ("word", "бан", "name"), ("word", "поддельный товар", "name"),
        ("word", "подделка", "description")]
    assert bans.assess(product)[0] == bans.matches(product)
    assert bans.assess({"product_id": "2", "name": "Банан"})[0] == ()


def test_the_state_counts_products_per_status_as_they_change() -> None:
    state = _state(**{"1": "Часы", "2": "Подделка"})
    bans = BanList()
    bans.add("подделка")
    _changes(state, bans, applied=None)
    state.load([decode_record(b"3", encode_moderation("3", Moderation("delisted", "t0"))),
                decode_record(b"1", None)])
    assert state.counts() == {"blocked": 1, "delisted": 1}


def test_products_judged_while_the_list_changed_are_judged_again() -> None:
    # judged live while «подделка» was briefly removed; it is back before the next pass, so
    # the difference between the passes is empty
    state = _state(**{"1": "Подделка", "2": "Подделка тоже"})
    bans = BanList()
    bans.add("подделка")
    decisions = decisions_for_ban_changes(state, bans, bans.entries(), bans.entries(), "t1",
                                          recheck=frozenset({b"1"}))
    assert {d.key: d.clear for d in decisions} == {b"1": None}
