"""Judging in child processes, so that it runs beside the filter's writing, not before it.

The filter was CPU-bound in one Python thread: judging a record (decode, validate, fold, match)
took about 65 µs of CPU and writing its outcome about 25 µs. The filter hands a batch's raw
records to a :class:`JudgeWorker`, which cuts it among its children (``filter.judges``), and
writes the batch before while they judge. With one child the filter waited for it (0.6-0.9 s of
each 10,000-record round); with two the round is bound by the writing and the brokers.

A child holds no Kafka client and no state: it gets the ban entries with every batch whose list
changed, and answers with one verdict per record, in order. It reads requests from a pipe whose
only writer is the filter: a filter killed with ``kill -9`` closes it, and the child ends on
that end of file.

Run by the filter; ``python -m pokupai_lib.ingest.judge_worker READ_FD WRITE_FD``.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection

from confluent_kafka import Message

from pokupai_lib.bans.rules import BanKind, BanList
from pokupai_lib.bans.word_forms import word_forms
from pokupai_lib.config import load_config
from pokupai_lib.errors import RegistryUnavailable, StreamFault
from pokupai_lib.ingest.verdicts import DeadLetter, Judge, SubjectSchemas, Verdict
from pokupai_lib.schema.decoding import WireAvroDecoder
from pokupai_lib.schema.registration import product_subject
from pokupai_lib.schema.registry import registry_client

__all__ = ["JudgeWorker", "JudgeWorkerLost", "sync_entries"]

Entries = frozenset[tuple[BanKind, str]]
# A verdict as it crosses the pipe.
_Wire = tuple[bytes | None, tuple[object, ...], DeadLetter | None, bool, tuple[str, ...],
              str | None]


class JudgeWorkerLost(StreamFault):
    """The judging child died or stopped answering; the filter starts another."""


@dataclass(frozen=True)
class _Request:
    entries: Entries | None  # None: the list is as in the last request
    filtered_at: str
    records: list[tuple[bytes | None, bytes | None]]


def sync_entries(bans: BanList, entries: Entries) -> None:
    """Make ``bans`` hold exactly ``entries`` (normalized keys, as :meth:`BanList.entries`
    gives them), adding and removing only the difference: a word's forms are expanded once."""
    current = bans.entries()
    for kind, term in current - entries:
        bans.remove(term, kind)
    for kind, term in entries - current:
        bans.add(term, kind)


def _to_wire(verdict: Verdict) -> _Wire:
    return (verdict.value, verdict.banned, verdict.dead_letter, verdict.delisted, verdict.words,
            verdict.sku)


def _from_wire(wire: _Wire) -> Verdict:
    value, banned, dead_letter, delisted, words, sku = wire
    # Interned again in this process: the filter keeps every product's words, once each.
    return Verdict(value, banned, dead_letter, delisted,  # type: ignore[arg-type]
                   tuple(map(sys.intern, words)), sku)


class _Child:
    """One judging child and its two pipes."""

    def __init__(self) -> None:
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        self.process = subprocess.Popen(  # noqa: S603 - our own module, by this interpreter
            [sys.executable, "-m", "pokupai_lib.ingest.judge_worker", str(request_read),
             str(reply_write)], pass_fds=(request_read, reply_write))
        os.close(request_read)
        os.close(reply_write)
        self.requests = Connection(request_write, readable=False)
        self.replies = Connection(reply_read, writable=False)
        self.sent_entries: Entries | None = None

    def send(self, records: list[tuple[bytes | None, bytes | None]], entries: Entries,
             filtered_at: str) -> None:
        changed = None if entries == self.sent_entries else entries
        self.requests.send(_Request(changed, filtered_at, records))
        self.sent_entries = entries

    def receive(self, deadline: float) -> tuple[str, object]:
        """The child's reply; raises JudgeWorkerLost when it died or the deadline passed."""
        try:
            while not self.replies.poll(0.5):
                if self.process.poll() is not None:
                    raise JudgeWorkerLost(f"a judging child exited with "
                                          f"{self.process.returncode}")
                if time.monotonic() > deadline:
                    raise JudgeWorkerLost("a judging child did not answer in time")
            reply: tuple[str, object] = self.replies.recv()
        except (EOFError, OSError) as exc:
            raise JudgeWorkerLost(f"a judging child is gone ({type(exc).__name__})") from exc
        return reply

    def close(self) -> None:
        """End the child: it exits when its request pipe closes."""
        self.requests.close()
        self.replies.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


class JudgeWorker:
    """The filter's side of the judging children: submit a batch, then take its verdicts.

    A batch is cut into one slice per child, judged side by side. One batch at a time is in
    the children; :meth:`take` raises :class:`~pokupai_lib.errors.RegistryUnavailable` when a
    child met a registry fault, and :class:`JudgeWorkerLost` when one died or did not answer
    within ``timeout_s`` (it is replaced at once).
    """

    def __init__(self, children: int, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._children = [_Child() for _ in range(max(1, children))]
        self._slices: list[int] = []  # records sent to each child, for the batch in flight

    @property
    def in_flight(self) -> int:
        """Records submitted whose verdicts are not taken yet."""
        return sum(self._slices)

    def submit(self, batch: Sequence[Message], entries: Entries, filtered_at: str) -> None:
        """Hand ``batch`` to the children, judged against ``entries``."""
        if self._slices:
            raise RuntimeError("a batch is already being judged; take its verdicts first")
        records = [(msg.key(), msg.value()) for msg in batch]
        size = -(-len(records) // len(self._children))  # a small batch goes to the first
        for index, child in enumerate(self._children):
            part = records[index * size:(index + 1) * size]
            if not part and index:
                break
            try:
                child.send(part, entries, filtered_at)
            except OSError:
                child.sent_entries = None  # its death shows when its reply is taken
            self._slices.append(len(part))

    def take(self) -> list[Verdict]:
        """The verdicts of the submitted batch, in its order."""
        deadline = time.monotonic() + self.timeout_s
        verdicts: list[Verdict] = []
        failure: Exception | None = None
        # Every child in flight is heard out, whatever happened to another, so that the
        # next batch's replies cannot be taken for this one's.
        for index in range(len(self._slices)):
            try:
                kind, payload = self._children[index].receive(deadline)
            except JudgeWorkerLost as exc:
                self._children[index].close()
                self._children[index] = _Child()
                failure = failure or JudgeWorkerLost(f"{exc}; a new one is started")
                continue
            if kind == "registry":
                failure = failure or RegistryUnavailable(str(payload))
            elif failure is None:
                verdicts += map(_from_wire, payload)  # type: ignore[call-overload]
        self._slices = []
        if failure is not None:
            raise failure
        return verdicts

    def discard(self) -> None:
        """Drop the verdicts of a batch that will be read again (after a rewind)."""
        if self._slices:
            with contextlib.suppress(RegistryUnavailable, JudgeWorkerLost):
                self.take()

    def close(self) -> None:
        """End the children."""
        for child in self._children:
            child.close()


def _judge_all(judge: Judge, records: Iterable[tuple[bytes | None, bytes | None]],
               filtered_at: str) -> list[_Wire]:
    return [_to_wire(judge.judge(key, value, filtered_at)) for key, value in records]


def serve(requests: Connection, replies: Connection) -> None:
    """The child's loop: a batch in, its verdicts out, until the filter closes the pipe."""
    cfg = load_config()
    registry = registry_client(cfg)
    bans = BanList()
    judge = Judge(WireAvroDecoder(registry), bans, cfg.filter.max_record_bytes,
                  SubjectSchemas(registry, product_subject(cfg)))
    word_forms("бан")  # loads the dictionary now, not while the first batch waits
    gc.freeze()  # the dictionary of word forms: long-lived, no use walking it
    while True:
        try:
            request: _Request = requests.recv()
        except EOFError:
            return
        if request.entries is not None:
            sync_entries(bans, request.entries)
        try:
            reply: tuple[str, object] = ("ok", _judge_all(judge, request.records,
                                                          request.filtered_at))
        except RegistryUnavailable as exc:
            reply = ("registry", str(exc))
        try:
            replies.send(reply)
        except BrokenPipeError:
            return


def main() -> None:
    """Entry point of the judging child."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s judge: %(message)s")
    # Every registry request of every child, at INFO, was most of the filter's log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    read_fd, write_fd = int(sys.argv[1]), int(sys.argv[2])
    serve(Connection(read_fd, writable=False), Connection(write_fd, readable=False))


if __name__ == "__main__":
    main()
