"""``pokupai``: a thin command line over the library; it parses, calls, and prints."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

import typer

from pokupai_lib import lab
from pokupai_lib.acls import acls_frame, current_acls, ensure_acls, primary_grants
from pokupai_lib.clients import admin_client
from pokupai_lib.config import ClusterName, load_config
from pokupai_lib.errors import LabError
from pokupai_lib.runner import run_notebooks
from pokupai_lib.topics import ensure_topics

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="The «Покупай выгодно» Kafka lab.")
T = TypeVar("T")


def _run(action: Callable[[], T]) -> T:
    """Run ``action``; a LabError becomes one line on stderr and exit code 1."""
    try:
        return action()
    except LabError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def bootstrap() -> None:
    """Check tools and state, resolve JVM artifacts, create missing certificates."""
    report = _run(lambda: lab.bootstrap(load_config()))
    typer.echo(f"certificates: {len(report.created)} created, {len(report.kept)} kept")


@app.command()
def up(cluster: Annotated[Literal["primary", "secondary", "all"], typer.Option()] = "primary"
       ) -> None:
    """Start the cluster(s) and make the design's topics and ACLs exist."""
    cfg = load_config()
    names: tuple[ClusterName, ...] = (
        ("primary", "secondary") if cluster == "all" else (cluster,))
    ids = _run(lambda: lab.up(cfg, names))
    admin = admin_client(cfg, "primary")
    created = _run(lambda: ensure_topics(admin, cfg.topics.specs()))
    added, removed = _run(lambda: ensure_acls(admin, primary_grants(cfg)))
    for name, cluster_id in ids.items():
        typer.echo(f"{name}: cluster id {cluster_id}")
    typer.echo(f"topics created: {created or 'none'}; ACLs added {len(added)}, "
               f"removed {len(removed)}")


@app.command()
def down() -> None:
    """Stop every service, keeping data."""
    stopped = _run(lambda: lab.down(load_config()))
    typer.echo(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@app.command()
def status() -> None:
    """A table of services, pids, ports and health."""
    typer.echo(lab.status_frame(load_config()).to_string(index=False))


@app.command()
def acls() -> None:
    """The primary cluster's ACLs as a table."""
    typer.echo(acls_frame(current_acls(admin_client(load_config()))).to_string(index=False))


@app.command("lab")
def run_lab() -> None:
    """Run every notebook with papermill into runs/<timestamp>/ and print a status table."""
    summary = _run(lambda: run_notebooks(load_config()))
    typer.echo(summary.to_markdown(index=False))
    if not (summary["status"] == "ok").all():
        sys.exit(1)


def main() -> None:
    app()
