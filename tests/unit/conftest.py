"""Unit-test fixtures: a lab configuration rooted in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from pokupai_lib.config import LabConfig, LabPaths


@pytest.fixture
def tmp_cfg(tmp_path: Path) -> LabConfig:
    """A LabConfig whose state, certs and cache live under ``tmp_path``."""
    return LabConfig(paths=LabPaths(root=tmp_path))
