"""How ``make lab`` calls papermill: only real parameter overrides, kernels over IPC."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from pokupai_lib.runner import kernel_config, parameter_overrides


def _notebook(tmp_path: Path, parameters: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                       "display_name": "Python 3"}
    notebook.cells = [nbformat.v4.new_code_cell("import math"),
                      nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]})]
    path = tmp_path / "01_probe.ipynb"
    nbformat.write(notebook, path)
    return path


def test_a_parameter_equal_to_the_notebook_default_is_not_passed(tmp_path: Path) -> None:
    path = _notebook(tmp_path, 'profile = "local"\ncount = 2000')
    assert parameter_overrides(path, {"profile": "local", "count": 2000}) == {}


def test_a_different_or_unknown_parameter_is_passed(tmp_path: Path) -> None:
    path = _notebook(tmp_path, 'profile = "local"\nstart = math.pi')
    assert parameter_overrides(path, {"profile": "docker", "start": 3.0, "extra": 1}) == {
        "profile": "docker", "start": 3.0, "extra": 1}


def test_kernels_talk_over_ipc_sockets_in_the_runtime_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    manager = kernel_config().KernelManager
    assert manager.transport == "ipc"
    assert Path(manager.ip).parent == tmp_path / "runtime" and (tmp_path / "runtime").is_dir()
