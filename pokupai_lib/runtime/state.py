"""The lab's state directory: data dirs, pid files and logs, guarded by a marker file."""

from __future__ import annotations

import json
from pathlib import Path

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import StateDirError

__all__ = ["STATE_LAYOUT", "ensure_state_dir"]

STATE_LAYOUT = 1
_MARKER = ".pokupai-lab.json"
_CLEAN_HINT = "run `make clean` (removes lab state) or move that directory away"


def _marker(state: Path) -> Path:
    return state / _MARKER


def ensure_state_dir(cfg: LabConfig) -> Path:
    """Create the state dir, or check that an existing one is ours and of this layout.

    Raises StateDirError for a directory with foreign content or an unreadable marker.
    """
    state = cfg.paths.state
    marker = _marker(state)
    if not state.exists() or (state.is_dir() and not any(state.iterdir())):
        state.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"project": "pokupai-lab", "layout": STATE_LAYOUT}))
        return state
    if not state.is_dir():
        raise StateDirError(f"{state} is a file, not the lab's state directory; {_CLEAN_HINT}")
    try:
        record = json.loads(marker.read_text())
    except FileNotFoundError as exc:
        raise StateDirError(f"{state} exists but was not made by this lab (no {_MARKER}); "
                            f"{_CLEAN_HINT}") from exc
    except (json.JSONDecodeError, OSError) as exc:
        raise StateDirError(f"{marker} is corrupt ({exc}); {_CLEAN_HINT}") from exc
    if not isinstance(record, dict) or record.get("project") != "pokupai-lab":
        raise StateDirError(f"{state} belongs to something else ({record!r}); {_CLEAN_HINT}")
    if record.get("layout") != STATE_LAYOUT:
        raise StateDirError(f"{state} has layout {record.get('layout')}, this lab needs "
                            f"{STATE_LAYOUT}; {_CLEAN_HINT}")
    return state
