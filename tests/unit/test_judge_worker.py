"""The judging child: verdicts in order, the ban list kept in step, and no orphan or hang when
either side dies. Records here need no registry (tombstones and bytes that are not Avro)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

import psutil
import pytest

from pokupai_lib.bans.rules import BanList
from pokupai_lib.ingest.catalog import generate_catalog
from pokupai_lib.ingest.judge_worker import JudgeWorker, JudgeWorkerLost, sync_entries


@dataclass
class Record:
    _key: bytes | None
    _value: bytes | None

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value


@pytest.fixture
def worker() -> Iterator[JudgeWorker]:
    judge = JudgeWorker(2, timeout_s=30)
    yield judge
    judge.close()


def test_sync_entries_makes_a_list_match_as_the_one_it_copies() -> None:
    source, copy = BanList(), BanList()
    for term in ("контрафакт", "подделка", "Wi-Fi"):
        source.add(term)
    source.add("SKU-1", "sku")
    copy.add("банан")  # not in the source: removed
    copy.add("подделка")  # already there: kept
    sync_entries(copy, source.entries())
    assert copy.entries() == source.entries()
    for product in generate_catalog(300, seed=5).products:
        assert copy.matches(product) == source.matches(product)
    product = {"name": "Две подделки и wi fi"}
    assert [m.term for m in copy.matches(product)] == ["подделка", "wi fi"]


def test_verdicts_come_back_in_the_order_of_the_batch(worker: JudgeWorker) -> None:
    worker.submit([Record(b"1", None), Record(b"2", b"\x05garbage"), Record(None, None)],
                  frozenset({("word", "контрафакт")}), "now")
    assert worker.in_flight == 3
    delisted, garbage, keyless = worker.take()
    assert worker.in_flight == 0
    assert delisted.delisted and delisted.dead_letter is None
    assert garbage.dead_letter is not None and garbage.dead_letter.error_type == "not-avro"
    assert "Invalid magic byte" in garbage.dead_letter.message
    assert keyless.dead_letter is not None and keyless.dead_letter.error_type == "tombstone"


def test_a_second_batch_before_the_first_is_taken_is_refused(worker: JudgeWorker) -> None:
    worker.submit([Record(b"1", None)], frozenset(), "now")
    with pytest.raises(RuntimeError, match="take its verdicts first"):
        worker.submit([Record(b"2", None)], frozenset(), "now")


def test_a_killed_child_is_reported_and_replaced(worker: JudgeWorker) -> None:
    worker.submit([Record(b"1", None)], frozenset(), "now")
    worker.take()
    os.kill(worker._children[0].process.pid, signal.SIGKILL)
    worker._children[0].process.wait(10)
    with pytest.raises(JudgeWorkerLost, match="a new one is started"):
        worker.submit([Record(b"1", None)], frozenset(), "now")
        worker.take()
    worker.submit([Record(b"3", None)], frozenset(), "now")
    assert [v.delisted for v in worker.take()] == [True]


def test_discard_drops_the_verdicts_of_a_batch_in_flight(worker: JudgeWorker) -> None:
    worker.submit([Record(b"1", b"\x05x")], frozenset(), "now")
    worker.discard()
    assert worker.in_flight == 0
    worker.submit([Record(b"2", None)], frozenset(), "now")
    assert [v.delisted for v in worker.take()] == [True]


def test_the_child_ends_when_the_filter_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import time
        from pokupai_lib.ingest.judge_worker import JudgeWorker
        worker = JudgeWorker(2, timeout_s=30)
        print(*(child.process.pid for child in worker._children), flush=True)
        time.sleep(600)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        children = [psutil.Process(int(pid)) for pid in parent.stdout.readline().split()]
        assert len(children) == 2
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        _gone, alive = psutil.wait_procs(children, timeout=20)
        assert not alive, "a judging child outlived its filter"
    finally:
        parent.kill()
        parent.wait(10)


def test_closing_ends_the_children(worker: JudgeWorker) -> None:
    worker.close()
    assert all(child.process.poll() is not None for child in worker._children)


def test_a_batch_split_between_the_children_comes_back_whole_and_in_order(
        worker: JudgeWorker) -> None:
    batch = [Record(str(i).encode(), None if i % 3 else b"\x05x") for i in range(11)]
    worker.submit(batch, frozenset(), "now")
    verdicts = worker.take()
    assert [v.delisted for v in verdicts] == [bool(i % 3) for i in range(11)]
    assert all(v.dead_letter is not None for i, v in enumerate(verdicts) if not i % 3)
