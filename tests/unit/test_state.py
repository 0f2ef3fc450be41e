from __future__ import annotations

import pytest

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import StateDirError
from pokupai_lib.runtime.state import ensure_state_dir


def test_a_new_state_dir_is_created_and_accepted_again(tmp_cfg: LabConfig) -> None:
    state = ensure_state_dir(tmp_cfg)
    assert state.is_dir()
    assert ensure_state_dir(tmp_cfg) == state


def test_a_foreign_state_dir_is_refused_with_the_clean_hint(tmp_cfg: LabConfig) -> None:
    tmp_cfg.paths.state.mkdir()
    (tmp_cfg.paths.state / "somebody-elses.db").write_text("x")
    with pytest.raises(StateDirError, match="make clean"):
        ensure_state_dir(tmp_cfg)


def test_a_corrupt_marker_is_refused(tmp_cfg: LabConfig) -> None:
    state = ensure_state_dir(tmp_cfg)
    (state / ".pokupai-lab.json").write_text("{not json")
    with pytest.raises(StateDirError, match="corrupt"):
        ensure_state_dir(tmp_cfg)


def test_another_layout_is_refused(tmp_cfg: LabConfig) -> None:
    state = ensure_state_dir(tmp_cfg)
    (state / ".pokupai-lab.json").write_text('{"project": "pokupai-lab", "layout": 99}')
    with pytest.raises(StateDirError, match="layout 99"):
        ensure_state_dir(tmp_cfg)
