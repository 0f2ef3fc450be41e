"""``pokupai``: a thin command line over the library; it parses, calls, and prints."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, Literal, TypeVar

import httpx
import typer

from pokupai_lib import lab
from pokupai_lib.bans.rules import BanKind, BanList
from pokupai_lib.bans.topic import BanTopic, ban_entry, entries_view, entry_record
from pokupai_lib.bans.writer import BanWriter
from pokupai_lib.client_api.client import ClientApiClient
from pokupai_lib.config import ClusterName, load_config
from pokupai_lib.errors import LabError
from pokupai_lib.ingest.checks import prepare_shop_files
from pokupai_lib.ingest.publisher import publish_files
from pokupai_lib.kafka.acls import current_acls
from pokupai_lib.kafka.checks import acls_frame
from pokupai_lib.kafka.clients import admin_client
from pokupai_lib.runner import run_notebooks

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
def up(cluster: Annotated[Literal["primary", "secondary", "all"], typer.Option(
        help="all: the whole platform; primary or secondary: that cluster only")] = "all"
       ) -> None:
    """Start the platform: clusters, registry, pipeline, mirroring, recommender, search, alerts."""
    cfg = load_config()
    if cluster == "all":
        ids = _run(lambda: lab.up_platform(cfg))
    else:
        names: tuple[ClusterName, ...] = (cluster,)
        ids = _run(lambda: lab.up(cfg, names))
    for name, cluster_id in ids.items():
        typer.echo(f"{name}: cluster id {cluster_id}")
    typer.echo(lab.status_frame(cfg).drop(columns="health").to_string(index=False))


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


ban_app = typer.Typer(no_args_is_help=True, help="The ban list in the ban-words topic.")
app.add_typer(ban_app, name="ban")
KindOption = Annotated[BanKind, typer.Option("--kind", help="word, product_id or sku")]


@ban_app.command("add")
def ban_add(terms: list[str], kind: KindOption = "word") -> None:
    """Ban one or more words, phrases, product ids or SKUs: all of them or none."""
    cfg = load_config()
    entries = [_run(partial(_checked, partial(ban_entry, term, kind, "cli"))) for term in terms]
    writer = BanWriter.for_principal(cfg, "admin", cfg.ban_api.cli_transactional_id)
    _run(lambda: writer.write([entry_record(entry) for entry in entries]))
    for entry in entries:
        typer.echo(f"banned {entry.kind} {entry.term!r}")


@ban_app.command("remove")
def ban_remove(term: str, kind: KindOption = "word") -> None:
    """Lift a ban (writes a tombstone)."""
    _run(lambda: _checked(lambda: BanTopic(load_config()).remove(term, kind)))
    typer.echo(f"removed {kind} {term!r}")


@ban_app.command("list")
def ban_list() -> None:
    """Every entry of the ban list, read from the topic."""
    bans = BanList()
    BanTopic(load_config()).load(bans)
    for kind, terms in entries_view(bans).items():
        typer.echo(f"{kind}: {', '.join(terms) or '-'}")


@app.command()
def publish(count: int = 1000, seed: int = 42) -> None:
    """Generate ``count`` products (deterministic for ``seed``) and publish them to shop-raw.

    Exits 1 when any record was not delivered (skipped invalid lines do not count).
    """
    cfg = load_config()
    _catalog, paths = prepare_shop_files(cfg, count, seed)
    result = _run(lambda: publish_files(cfg, paths))
    typer.echo(f"delivered {result.delivered}, skipped {result.skipped}, "
               f"failed {result.failed} in {result.seconds:.1f} s "
               f"({result.rate:.0f} products/s)")
    for problem in result.problems[:20]:
        typer.echo(f"  {problem.file}:{problem.line}: {problem.reason}")
    undelivered = result.undelivered_summary()
    if undelivered:
        typer.echo(f"error: {undelivered}", err=True)
        raise typer.Exit(1)


def _call_api(call: Callable[[ClientApiClient], httpx.Response]) -> dict[str, Any]:
    """The client API's JSON answer; one error line and exit 1 when it is down or says no."""
    cfg = load_config()
    try:
        response = call(ClientApiClient(cfg))
    except httpx.HTTPError as exc:
        typer.echo(f"error: the client API at {cfg.client_api.url} did not answer ({exc}); "
                   "start the platform with `pokupai up`", err=True)
        raise typer.Exit(1) from None
    body: dict[str, Any] = response.json()
    if response.status_code != 200:
        typer.echo(f"error: HTTP {response.status_code}: {body.get('detail')}", err=True)
        raise typer.Exit(1)
    return body


@app.command()
def search(text: str, client: Annotated[str, typer.Option("--client", help="id_client")] = "cli"
           ) -> None:
    """Search products through the client API (the search is recorded as ``client``)."""
    body = _call_api(lambda api: api.search_response(client, text))
    typer.echo(f"{body['total']} found for {text!r} in {body['took_ms']} ms")
    for hit in body["products"]:
        typer.echo(f"  {hit['product_id']:>8}  {hit['score']:7.3f}  {hit['price']:>10}  "
                   f"{hit['category']}  {hit['name']}")


@app.command()
def recommend(id_client: str) -> None:
    """A client's latest recommendations, through the client API."""
    body = _call_api(lambda api: api.recommendations(id_client))
    for row in body["recommendations"]:
        typer.echo(f"«{row.get('SEARCH_TERM')}» → {row.get('MATCHED_CATEGORY') or '-'}: "
                   f"{row.get('TOTAL_PRODUCTS') or 0} products: "
                   f"{(row.get('PRODUCTS_IN_CATEGORY') or '')[:120]}")


def _checked(action: Callable[[], T]) -> T:
    """Turn a bad term into a LabError so it is reported as one line."""
    try:
        return action()
    except ValueError as exc:
        raise LabError(str(exc)) from exc


@app.command("lab")
def run_lab() -> None:
    """Run every notebook with papermill into runs/<timestamp>/ and print a status table."""
    summary = _run(lambda: run_notebooks(load_config()))
    typer.echo(summary.to_markdown(index=False))
    if not (summary["status"] == "ok").all():
        sys.exit(1)


def main() -> None:
    # The library's progress (downloads, notebooks) as bare lines on stderr, the way Python
    # already prints its warnings; other libraries stay at WARNING.
    logging.basicConfig(format="%(message)s")
    logging.getLogger("pokupai_lib").setLevel(logging.INFO)
    app()
