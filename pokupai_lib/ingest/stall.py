"""When is the filter stuck? Records wait and none came for a while, or its loop stopped.

The clock runs only while something waits: an idle minute followed by a burst of new records is
not a stall (it was judged one, and the filter restarted at the start of every bulk load).
"""

from __future__ import annotations

import faulthandler
import logging
import os
import threading
import time
from typing import Protocol

__all__ = ["PartitionEnds", "StallClock", "Watchdog"]

log = logging.getLogger("pokupai_lib.filter")


class StallClock:
    """Seconds during which records waited and none was fetched.

    Args:
        limit_s: how long records may wait with none fetched before :meth:`stalled_s` says so.
    """

    def __init__(self, limit_s: float, now: float) -> None:
        self.limit_s = limit_s
        self._since = now
        self._fetched_at = float("-inf")

    def fetched(self, now: float) -> None:
        """Records arrived: the consumer moves."""
        self._since = self._fetched_at = now

    def fetching(self, now: float, within_s: float = 2.0) -> bool:
        """Whether records arrived in the last ``within_s`` seconds: then the fetch responses
        keep the consumer's cached high watermarks fresh."""
        return now - self._fetched_at < within_s

    def observe(self, lag: int | None, now: float) -> float | None:
        """Feed one lag reading; returns the stalled seconds once past the limit, else None.

        No lag (or no partitions) restarts the clock: nothing waiting is not being stuck.
        """
        if not lag:
            self._since = now
            return None
        stalled_s = now - self._since
        return stalled_s if stalled_s > self.limit_s else None

    def excuse(self, now: float) -> None:
        """An outage: being stuck is judged after it."""
        self._since = now


class PartitionEnds:
    """The offset at which each partition was last seen at its end (a partition-EOF event).

    A read_committed consumer's position stops before a trailing transaction marker, which
    is no record: without this, ``high watermark - position`` stays 1 for ever after a
    transactional write (seen: the filter restarted every 70 s as "stuck" on 1 record).
    """

    def __init__(self) -> None:
        self._ends: dict[int, int] = {}

    def reached(self, partition: int, offset: int) -> None:
        """The consumer reached the end of ``partition`` at ``offset``."""
        self._ends[partition] = offset

    def forget(self) -> None:
        """After a seek back (abort, rewind), the ends seen before no longer hold."""
        self._ends.clear()

    def lag(self, partition: int, position: int, high: int) -> int:
        """Records of ``partition`` still to fetch: ``high`` less the further of the
        position and the end seen."""
        return max(0, high - max(position, self._ends.get(partition, -1)))


class WatchedLoop(Protocol):
    """What the watchdog reads of a loop: its stop event and when it last made progress."""

    stop: threading.Event
    progress_at: float


class Watchdog(threading.Thread):
    """Ends the process when the loop has made no progress for ``limit_s`` (a librdkafka call
    that outlived its own timeout after an outage was seen), so its keeper starts a fresh one;
    like systemd's WatchdogSec. The log gets the stuck thread's stack first."""

    def __init__(self, loop: WatchedLoop, limit_s: float, every_s: float = 5.0) -> None:
        super().__init__(name="watchdog", daemon=True)
        self.loop, self.limit_s, self.every_s = loop, limit_s, every_s

    def run(self) -> None:
        while not self.loop.stop.wait(self.every_s):
            stalled_s = time.monotonic() - self.loop.progress_at
            if stalled_s > self.limit_s:
                log.error("the filter loop made no progress for %.0f s; exiting for a restart",
                          stalled_s)
                faulthandler.dump_traceback(all_threads=True)
                os._exit(1)
