"""What a keeper (:mod:`pokupai_lib.runtime.keeper`) records of the process it keeps alive.

Apart from the keeper so that the supervisor can read it without importing the keeper, which
runs as ``python -m pokupai_lib.runtime.keeper``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["KeeperState", "read_keeper_state"]


@dataclass
class KeeperState:
    """What ``pokupai status`` shows of a kept process."""

    child_pid: int | None = None
    state: str = "starting"
    restarts: int = 0
    last_exit: str | None = None
    last_exit_at: str | None = None
    started_at: str | None = None
    history: list[str] = field(default_factory=list)


def read_keeper_state(path: Path) -> KeeperState | None:
    """The state a keeper last wrote, or None when there is none (or it is unreadable)."""
    try:
        raw = json.loads(path.read_text())
        return KeeperState(**raw)
    except (OSError, ValueError, TypeError):
        return None
