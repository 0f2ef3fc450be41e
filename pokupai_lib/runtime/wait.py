"""One way to wait: poll a check until its state is what the caller wants, or time out loudly.

Written by hand, not with tenacity: tenacity keeps only the last attempt's outcome, and the
timeout message needs both the last state seen and the last error the wait ignored.
"""

from __future__ import annotations

import reprlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from pokupai_lib.errors import LabTimeoutError

__all__ = ["Ignore", "wait_until"]

T = TypeVar("T")

# Exceptions a check may raise while the thing it watches is not there yet: by type, or by a
# predicate (e.g. a KafkaException whose error is retriable).
Ignore = tuple[type[Exception], ...] | Callable[[Exception], bool]

_NOTHING = object()
_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 300
_SHORT.maxlist = _SHORT.maxdict = _SHORT.maxset = 12


def wait_until(check: Callable[[], T | None], *, timeout_s: float, every_s: float, what: str,
               until: Callable[[T], object] = bool, ignore: Ignore = (),
               log: Path | Sequence[Path] | None = None) -> T:
    """Call ``check`` every ``every_s`` until ``until(state)`` is true; return that state.

    ``None`` from ``check`` always means "nothing to judge yet" and is never returned.

    ``check`` runs at least once, and once more at the deadline, so a slow check never makes
    the wait give up without a last look.

    Args:
        check: reads the state waited on (it may block, e.g. a consumer poll: then use a
            small ``every_s``, or 0).
        timeout_s: how long to wait.
        every_s: the pause between two checks.
        what: what is awaited, for the timeout message ("3 brokers in primary").
        until: decides whether a state is the one waited for; default: it is truthy. An
            exception it raises ends the wait (e.g. a state that can never become right).
        ignore: exceptions of ``check`` that mean "not yet" (types, or a predicate); the last
            one is named in the timeout message. Any other exception propagates at once.
        log: the log file(s) to read when the wait times out.

    Returns:
        The first state ``until`` accepted.

    Raises:
        LabTimeoutError: the deadline passed; names ``what``, the last state seen, the last
            ignored error and the log.
    """
    deadline = time.monotonic() + timeout_s
    state: object = _NOTHING
    error: Exception | None = None
    while True:
        try:
            current = check()
        except Exception as exc:
            if not _ignored(exc, ignore):
                raise
            error = exc
        else:
            if current is not None and until(current):
                return current
            state = current
        left = deadline - time.monotonic()
        if left <= 0:
            raise LabTimeoutError(_message(what, timeout_s, state, error, log))
        if every_s > 0:  # 0: the check blocks by itself (a consumer poll); no yield between
            time.sleep(min(every_s, left))


def _ignored(exc: Exception, ignore: Ignore) -> bool:
    return isinstance(exc, ignore) if isinstance(ignore, tuple) else ignore(exc)


def _message(what: str, timeout_s: float, state: object, error: Exception | None,
             log: Path | Sequence[Path] | None) -> str:
    seen = "none (every check failed)" if state is _NOTHING else _SHORT.repr(state)
    parts = [f"timed out after {timeout_s:g} s waiting for {what}; last state: {seen}"]
    if error is not None:
        parts.append(f"last error: {type(error).__name__}: {_SHORT.repr(str(error))[1:-1]}")
    if log is not None:
        logs = [log] if isinstance(log, Path) else list(log)
        parts.append(f"read {' and '.join(str(path) for path in logs)}")
    return "; ".join(parts)
