"""The committed notebooks as a reader sees them: one parameters cell, nbval markers as tags."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbval.plugin import comment_markers, metadata_tags

from pokupai_lib.config import project_root

NOTEBOOKS = sorted((project_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    tags: list[str] = cell.metadata.get("tags", [])
    return tags


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_the_second_code_cell_is_the_only_parameters_cell(path: Path) -> None:
    code = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    assert [i for i, cell in enumerate(code) if "parameters" in _tags(cell)] == [1]
    assert not [cell for cell in code if "injected-parameters" in _tags(cell)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_nbval_markers_are_tags_not_comments(path: Path) -> None:
    for cell in nbformat.read(path, as_version=4).cells:
        comments = [line.strip().lstrip("#").strip() for line in cell.source.splitlines()
                    if line.strip().startswith("#")]
        assert not set(comments) & set(comment_markers), cell.source
        assert all(tag in metadata_tags for tag in _tags(cell) if tag.startswith("nbval"))
