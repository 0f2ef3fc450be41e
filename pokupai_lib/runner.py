"""The main job: every numbered notebook in order with papermill, then a status table."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import papermill
from papermill.exceptions import PapermillExecutionError

from pokupai_lib.config import LabConfig

__all__ = ["notebook_paths", "run_notebooks"]


def notebook_paths(cfg: LabConfig) -> list[Path]:
    """The numbered notebooks (``NN_topic.ipynb``) in order."""
    return sorted(cfg.paths.notebooks.glob("[0-9][0-9]_*.ipynb"))


def run_notebooks(cfg: LabConfig, run_dir: Path | None = None) -> pd.DataFrame:
    """Execute the notebooks into ``runs/<timestamp>/``; stop at the first failure.

    Later notebooks build on earlier ones, so after a failure the rest are marked skipped.
    Returns one row per notebook: status, seconds, output path; also written as summary.md.
    """
    run_dir = run_dir or cfg.paths.runs / datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    failed = False
    for notebook in notebook_paths(cfg):
        output = run_dir / notebook.name
        if failed:
            rows.append({"notebook": notebook.name, "status": "skipped", "seconds": 0.0,
                         "output": str(output)})
            continue
        started = time.perf_counter()
        status = "ok"
        try:
            papermill.execute_notebook(
                str(notebook), str(output), parameters={"profile": cfg.profile},
                cwd=str(notebook.parent), kernel_name="python3", progress_bar=False)
        except PapermillExecutionError as exc:
            status, failed = f"failed: {exc.ename}: {exc.evalue}"[:200], True
        rows.append({"notebook": notebook.name, "status": status,
                     "seconds": round(time.perf_counter() - started, 1), "output": str(output)})
    summary = pd.DataFrame(rows, columns=["notebook", "status", "seconds", "output"])
    (run_dir / "summary.md").write_text(summary.to_markdown(index=False) + "\n")
    return summary
