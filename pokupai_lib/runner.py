"""The main job: every numbered notebook in order with papermill, then a status table."""

from __future__ import annotations

import ast
import logging
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import papermill
from jupyter_core.paths import jupyter_runtime_dir
from jupyter_core.utils import ensure_dir_exists
from papermill.exceptions import PapermillExecutionError
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm
from traitlets.config import Config

from pokupai_lib.config import LabConfig

__all__ = ["kernel_config", "notebook_paths", "parameter_overrides", "run_notebooks"]

log = logging.getLogger(__name__)
_NOT_A_LITERAL = object()


def notebook_paths(cfg: LabConfig) -> list[Path]:
    """The numbered notebooks (``NN_topic.ipynb``) in order."""
    return sorted(cfg.paths.notebooks.glob("[0-9][0-9]_*.ipynb"))


def kernel_config() -> Config:
    """Kernel settings for papermill: IPC sockets in Jupyter's runtime dir instead of TCP.

    Over TCP, ipykernel 7 warns at every start that the traffic is unencrypted. The socket
    prefix is absolute because papermill runs the kernel in the notebook's directory.
    """
    runtime = Path(jupyter_runtime_dir())
    ensure_dir_exists(runtime, mode=0o700)
    return Config({"KernelManager": {"transport": "ipc",
                                     "ip": str(runtime / f"pokupai-lab-{os.getpid()}")}})


def _literal(source: str) -> object:
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return _NOT_A_LITERAL


def parameter_overrides(notebook: Path, parameters: dict[str, Any]) -> dict[str, Any]:
    """The ``parameters`` whose value differs from the default in ``notebook``'s ``parameters``
    cell (a default that is not a Python literal always differs).

    Papermill adds an ``injected-parameters`` cell whenever it is given any parameter; giving
    it only real overrides keeps a default run's notebook the same shape as the committed one.
    """
    defaults = papermill.inspect_notebook(str(notebook))
    return {name: value for name, value in parameters.items()
            if name not in defaults or _literal(defaults[name]["default"]) != value}


def run_notebooks(cfg: LabConfig, run_dir: Path | None = None) -> pd.DataFrame:
    """Execute the notebooks into ``runs/<timestamp>/``; stop at the first failure.

    Later notebooks build on earlier ones, so after a failure the rest are marked skipped.
    Logs each notebook as it starts and ends (a progress bar on a terminal). Returns one row
    per notebook: status, seconds, output path; also written as summary.md.
    """
    run_dir = run_dir or cfg.paths.runs / datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    failed = False
    notebooks = notebook_paths(cfg)
    with logging_redirect_tqdm(), tqdm(notebooks, unit="notebook", disable=None) as bar:
        for notebook in bar:
            output = run_dir / notebook.name
            if failed:
                log.info("%s: skipped", notebook.name)
                rows.append({"notebook": notebook.name, "status": "skipped", "seconds": 0.0,
                             "output": str(output)})
                continue
            bar.set_description(notebook.stem)
            log.info("%s: running", notebook.name)
            started = time.perf_counter()
            status = "ok"
            try:
                papermill.execute_notebook(
                    str(notebook), str(output),
                    parameters=parameter_overrides(notebook, {"profile": cfg.profile}),
                    cwd=str(notebook.parent), kernel_name="python3", progress_bar=False,
                    config=kernel_config())
            except PapermillExecutionError as exc:
                status, failed = f"failed: {exc.ename}: {exc.evalue}"[:200], True
            seconds = round(time.perf_counter() - started, 1)
            log.info("%s: %s (%.1f s)", notebook.name, status, seconds)
            rows.append({"notebook": notebook.name, "status": status, "seconds": seconds,
                         "output": str(output)})
    summary = pd.DataFrame(rows, columns=["notebook", "status", "seconds", "output"])
    (run_dir / "summary.md").write_text(summary.to_markdown(index=False) + "\n")
    return summary
