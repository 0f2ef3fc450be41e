"""What the filter writes when a product arrives and when the ban list changes.

Every decision is a new :class:`~pokupai_lib.ingest.moderation.Moderation` for one product and,
when what ``shop-clear`` shows changes, the record that says so (the version, or a tombstone).
Ban changes are applied retroactively: an added entry withdraws the live products it matches,
a removed one brings back the products no other entry blocks. Both are worked out against the
state alone, so the same call after a crash (with nothing applied yet) gives the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from pokupai_lib.bans.rules import BanKind, BanList
from pokupai_lib.ingest.moderation import Moderation, ModerationState, Status
from pokupai_lib.ingest.verdicts import Verdict

__all__ = ["Decision", "decide", "decisions_for_ban_changes", "rejudge"]


@dataclass(frozen=True, slots=True)
class Decision:
    """A product's new moderation and what ``shop-clear`` gets (``emit``: whether it changes;
    ``clear``: the version to show, or None for a tombstone)."""

    key: bytes
    moderation: Moderation
    emit: bool
    clear: bytes | None


def _since(current: Moderation | None, status: Status, now: str) -> str:
    return current.since if current is not None and current.status == status else now


def decide(key: bytes, verdict: Verdict, current: Moderation | None, now: str) -> Decision:
    """The decision on a record of ``shop-raw`` that is not a dead letter.

    A ban or a delisting always writes a tombstone, even for a product ``shop-clear`` may not
    hold: copies downstream drop it either way, and a tombstone for nothing changes nothing.
    """
    if verdict.delisted:
        return Decision(key, Moderation("delisted", _since(current, "delisted", now)),
                        emit=True, clear=None)
    if verdict.value is None:
        raise ValueError("a dead letter has no moderation decision")
    status: Status = "blocked" if verdict.banned else "live"
    moderation = Moderation(status, _since(current, status, now), verdict.value,
                            verdict.banned, verdict.words, verdict.sku)
    return Decision(key, moderation, emit=True, clear=None if verdict.banned else verdict.value)


def rejudge(key: bytes, current: Moderation, bans: BanList, now: str) -> Decision | None:
    """Judge a known product's latest version again against ``bans``; None if nothing changes."""
    if current.version is None:
        return None
    blockers = bans.matches(current.product())
    if blockers:
        if current.status == "blocked" and blockers == current.blocked_by:
            return None
        moderation = Moderation("blocked", _since(current, "blocked", now), current.version,
                                blockers, current.words, current.sku)
        return Decision(key, moderation, emit=current.status != "blocked", clear=None)
    if current.status == "live":
        return None
    moderation = Moderation("live", now, current.version, (), current.words, current.sku)
    return Decision(key, moderation, emit=True, clear=current.version)


def decisions_for_ban_changes(state: ModerationState, bans: BanList,
                              current: frozenset[tuple[BanKind, str]],
                              applied: frozenset[tuple[BanKind, str]] | None, now: str,
                              recheck: frozenset[bytes] = frozenset()) -> list[Decision]:
    """The decisions that bring ``state`` in line with ``bans``.

    Args:
        state: every product judged so far.
        bans: the ban list now.
        current: ``bans.entries()``, taken by the caller (the list may change meanwhile).
        applied: the entries the state was last brought in line with; None when unknown (at
            start), which checks every live product against every entry and every blocked one
            for entries that are gone.
        now: the time the decisions are taken, for ``since``.
        recheck: products judged while the list was changing (a batch during which an entry
            was removed and added back, say): judged again whatever the difference says.

    Returns:
        One decision per product whose status or blocking entries change.
    """
    added = current if applied is None else current - applied
    probe = BanList()
    for kind, term in added:
        probe.add(term, kind)
    decisions = []
    for key, moderation in state.items():
        if moderation.status == "delisted":
            continue
        hit = bool(added) and probe.could_match(key, moderation.sku, moderation.words)
        lifted = moderation.status == "blocked" and any(
            (b.rule, b.term) not in current for b in moderation.blocked_by)
        if hit or lifted or key in recheck:
            decision = rejudge(key, moderation, bans, now)
            if decision is not None:
                decisions.append(decision)
    return decisions
