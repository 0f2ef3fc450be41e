"""Integration fixtures: the real platform, reused where it runs, started where it does not."""

from __future__ import annotations

import faulthandler
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest
from lab_fixture import Lab

from pokupai_lib.bans.topic import BanTopic
from pokupai_lib.config import load_config
from pokupai_lib.ingest.catalog import DEFAULT_BANNED_WORDS
from pokupai_lib.ingest.checks import wait_for_filter_bans
from pokupai_lib.lab import up_platform

# Where a crash of this process (a native client under broker restarts) leaves every thread's
# stack; `make integration` prints it. pytest's own faulthandler writes to stderr, which its
# capture has replaced by a temporary file that the crash takes with it (seen once:
# "Segmentation fault" and no trace).
CRASH_LOG = Path(".lab/logs/pytest-crash.log")
_crash_log = pytest.StashKey[TextIO]()


def pytest_sessionstart(session: pytest.Session) -> None:
    CRASH_LOG.parent.mkdir(parents=True, exist_ok=True)
    session.config.stash[_crash_log] = crash = CRASH_LOG.open("w", encoding="utf-8")
    faulthandler.enable(file=crash, all_threads=True)


@pytest.fixture(scope="session")
def lab() -> Lab:
    """The whole platform running: both clusters with the design's topics and ACLs, registry,
    pipeline, MirrorMaker 2, Elasticsearch, Connect with the products sink, the recommender and
    the client API, with the MVP's ban words in place (so no product carrying one is let
    through while the tests publish). Services already running are kept as they are."""
    cfg = load_config()
    up_platform(cfg)
    bans = BanTopic(cfg, principal="admin")
    for word in DEFAULT_BANNED_WORDS:
        bans.add(word, "word", "integration tests")
    wait_for_filter_bans(cfg)
    return Lab.of(cfg)


@pytest.fixture(autouse=True)
def fresh_topics_deleted(lab: Lab) -> Iterator[None]:
    """Deletes the topics a test made with ``lab.fresh_topic`` once the test and its other
    fixtures (such as brokers being restored) are done."""
    yield
    lab.delete_fresh_topics()
