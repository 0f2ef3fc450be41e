"""``pokupai``: a thin command line over the library; it parses, calls, and prints.

Every subcommand fails the same way: a lab error, or a platform that is down or slow (Kafka,
the registry or an HTTP service not answering, a refused port), is one line on stderr saying
what failed and what to do, and exit code 1; never a traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, NoReturn

import httpx
import typer
from confluent_kafka import KafkaException
from confluent_kafka.schema_registry.error import SchemaRegistryError
from typer.core import TyperGroup

from pokupai_lib import lab
from pokupai_lib.bans.moderation_view import ask_why
from pokupai_lib.bans.rules import BanKind, BanList
from pokupai_lib.bans.topic import BanTopic, ban_entry, ban_key, entries_view, entry_record
from pokupai_lib.bans.writer import BanWriter
from pokupai_lib.client_api.client import ClientApiClient
from pokupai_lib.config import ClusterName, Principal, load_config
from pokupai_lib.dlq.origins import dlq_topic
from pokupai_lib.dlq.replay import dlq_counts, replay_dead_letters
from pokupai_lib.errors import LabError
from pokupai_lib.ingest.checks import prepare_shop_files
from pokupai_lib.ingest.publisher import publish_files
from pokupai_lib.kafka.acls import current_acls
from pokupai_lib.kafka.checks import acls_frame
from pokupai_lib.kafka.clients import admin_client, require_cluster
from pokupai_lib.kafka.faults import kafka_error
from pokupai_lib.kafka.tools import KAFKA_TOOLS, run_kafka_tool
from pokupai_lib.runner import notebook_paths, run_notebooks
from pokupai_lib.verify.checks import ALL_STAGES
from pokupai_lib.verify.checks import verify as verify_stages

__all__ = ["app", "main"]

# What a subcommand may meet when the platform is down or slow, besides the lab's own errors.
# OSError covers a refused or timed-out connection (ConnectionError, TimeoutError).
_FAILURES = (LabError, KafkaException, SchemaRegistryError, httpx.TransportError, OSError)
_START_HINT = "start the platform with `make up` (`pokupai status` shows what runs)"


def _one_line(exc: BaseException) -> str:
    """What failed and what to do, in one line, for an exception in :data:`_FAILURES`."""
    if isinstance(exc, LabError):
        text = str(exc)
    elif isinstance(exc, KafkaException):
        error = kafka_error(exc)
        text = f"Kafka did not do it ({error.str() if error else exc}): {_START_HINT}"
    elif isinstance(exc, SchemaRegistryError):
        text = (f"the schema registry answered {exc.http_status_code}: {exc.error_message}; "
                "see `pokupai status` and .lab/logs/schema-registry.log")
    elif isinstance(exc, httpx.TransportError):
        text = f"{_where(exc)} did not answer ({exc or repr(exc)}): {_START_HINT}"
    elif isinstance(exc, ConnectionError | TimeoutError):
        text = f"{exc}: {_START_HINT}"
    else:
        text = str(exc)
    return " ".join(text.split())  # a Maven or log tail inside a message stays on the line


def _where(exc: httpx.TransportError) -> str:
    try:
        return str(exc.request.url)
    except RuntimeError:  # httpx raises this when the error has no request
        return "a service of the platform"


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


class _OneLineErrors(TyperGroup):
    """Runs every subcommand, nested ones too, so that its failures are one line and exit 1."""

    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click.Context
        try:
            return super().invoke(ctx)
        except _FAILURES as exc:
            _fail(_one_line(exc))


app = typer.Typer(cls=_OneLineErrors, add_completion=False, no_args_is_help=True,
                  help="The «Покупай выгодно» Kafka lab.")


@app.command()
def bootstrap() -> None:
    """Check tools and state, resolve JVM artifacts, create missing certificates."""
    report = lab.bootstrap(load_config())
    typer.echo(f"certificates: {len(report.created)} created, {len(report.kept)} kept")


@app.command()
def up(cluster: Annotated[Literal["primary", "secondary", "all"], typer.Option(
        help="all: the whole platform; primary or secondary: that cluster only")] = "all"
       ) -> None:
    """Start the platform: clusters, registry, pipeline, mirroring, recommender, search, alerts."""
    cfg = load_config()
    if cluster == "all":
        ids = lab.up_platform(cfg)
    else:
        names: tuple[ClusterName, ...] = (cluster,)
        ids = lab.up(cfg, names)
    for name, cluster_id in ids.items():
        typer.echo(f"{name}: cluster id {cluster_id}")
    typer.echo(lab.status_frame(cfg).drop(columns="health").to_string(index=False))


@app.command()
def down() -> None:
    """Stop every service, keeping data."""
    stopped = lab.down(load_config())
    typer.echo(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@app.command()
def stop(services: Annotated[list[str], typer.Argument(
        help="names as `pokupai status` shows them, e.g. kafka-3")]) -> None:
    """Stop the named services, keeping data; `pokupai up` starts them again."""
    stopped = lab.stop_services(load_config(), services)
    typer.echo(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@app.command()
def status() -> None:
    """A table of services, pids, ports and health; exit 1 when none runs."""
    cfg = load_config()
    frame = lab.status_frame(cfg)
    if not (frame["state"] == "running").any():
        _fail(f"no service of the lab runs (no live pid in {cfg.paths.pids}): {_START_HINT}")
    typer.echo(frame.to_string(index=False))


@app.command()
def acls() -> None:
    """The primary cluster's ACLs as a table."""
    cfg = load_config()
    require_cluster(cfg)
    typer.echo(acls_frame(current_acls(admin_client(cfg))).to_string(index=False))


# Everything after TOOL is the tool's: click stops parsing at TOOL (no interspersed
# options), so even `--help` there reaches Kafka's tool.
_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True,
                 "allow_interspersed_args": False}
_KAFKA_HELP = "\n\n".join([
    "Run Apache Kafka's own tool TOOL (kafka-TOOL.sh) from the lab's jars. ARGS pass through "
    "unchanged; the cluster's bootstrap servers and the principal's TLS client settings are "
    "added unless ARGS give them. Exits with the tool's exit code.",
    "Example: pokupai kafka topics --describe --topic shop-raw",
    "\b\nTools:\n" + "\n".join(f"  {name:<23} {tool.summary}"
                                for name, tool in KAFKA_TOOLS.items())])


@app.command(context_settings=_PASS_THROUGH, no_args_is_help=True, help=_KAFKA_HELP,
             short_help="Run one of Apache Kafka's own tools (topics, acls...) on the lab.")
def kafka(tool: Annotated[str, typer.Argument(help="a tool, as listed below")],
          args: Annotated[list[str] | None, typer.Argument(
              help="the tool's own arguments, passed through unchanged")] = None,
          cluster: Annotated[ClusterName, typer.Option(
              help="whose bootstrap servers to add")] = "primary",
          principal: Annotated[Principal, typer.Option(
              help="whose certificate the tool presents (intruder: refused)")] = "admin",
          ) -> None:
    code = run_kafka_tool(load_config(), tool, args or [], cluster, principal)
    raise typer.Exit(code)


ban_app = typer.Typer(no_args_is_help=True, help="The ban list in the ban-words topic.")
app.add_typer(ban_app, name="ban")
KindOption = Annotated[BanKind, typer.Option("--kind", help="word, product_id or sku")]


@ban_app.command("add")
def ban_add(terms: list[str], kind: KindOption = "word") -> None:
    """Ban one or more words, phrases, product ids or SKUs: all of them or none."""
    cfg = load_config()
    entries = [ban_entry(term, kind, "cli") for term in terms]
    require_cluster(cfg)
    writer = BanWriter.for_principal(cfg, "admin", cfg.ban_api.cli_transactional_id)
    writer.write([entry_record(entry) for entry in entries])
    for entry in entries:
        typer.echo(f"banned {entry.kind} {entry.term!r}")


@ban_app.command("remove")
def ban_remove(term: str, kind: KindOption = "word") -> None:
    """Lift a ban (writes a tombstone)."""
    cfg = load_config()
    ban_key(term, kind)  # a blank term is refused before any cluster is asked
    require_cluster(cfg)
    BanTopic(cfg).remove(term, kind)
    typer.echo(f"removed {kind} {term!r}")


@ban_app.command("why")
def ban_why(product_id: str) -> None:
    """Why a product is shown or hidden: its status, the entries that block it, since when."""
    answer = ask_why(load_config(), product_id)
    typer.echo(f"{answer['product_id']}: {answer['status']} since {answer['since']}")
    for entry in answer["blocked_by"]:
        typer.echo(f"  blocked by {entry['rule']} {entry['term']!r} (in {entry['field']})")


@ban_app.command("list")
def ban_list() -> None:
    """Every entry of the ban list, read from the topic."""
    cfg = load_config()
    require_cluster(cfg)
    bans = BanList()
    BanTopic(cfg).load(bans)
    for kind, terms in entries_view(bans).items():
        typer.echo(f"{kind}: {', '.join(terms) or '-'}")


@app.command()
def publish(count: int = 1000, seed: int = 42) -> None:
    """Generate ``count`` products (deterministic for ``seed``) and publish them to shop-raw.

    Exits 1 when any record was not delivered (skipped invalid lines do not count).
    """
    cfg = load_config()
    require_cluster(cfg)
    _catalog, paths = prepare_shop_files(cfg, count, seed)
    result = publish_files(cfg, paths)
    typer.echo(f"delivered {result.delivered}, skipped {result.skipped}, "
               f"failed {result.failed} in {result.seconds:.1f} s "
               f"({result.rate:.0f} products/s)")
    for problem in result.problems[:20]:
        typer.echo(f"  {problem.file}:{problem.line}: {problem.reason}")
    undelivered = result.undelivered_summary()
    if undelivered:
        _fail(undelivered)


def _call_api(call: Callable[[ClientApiClient], httpx.Response]) -> dict[str, Any]:
    """The client API's JSON answer; one error line and exit 1 when it is down or says no."""
    cfg = load_config()
    try:
        response = call(ClientApiClient(cfg))
    except httpx.HTTPError as exc:
        _fail(f"the client API at {cfg.client_api.url} did not answer ({exc}); "
              "start the platform with `pokupai up`")
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        _fail(f"the client API at {cfg.client_api.url} answered HTTP {response.status_code} "
              f"without JSON; see `pokupai status`")
    if response.status_code != 200:
        _fail(f"HTTP {response.status_code}: {body.get('detail')}")
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


@app.command()
def verify(wait: Annotated[float, typer.Option(
        "--wait", help="retry for up to this many seconds until every stage agrees")] = 0.0,
           stage: Annotated[list[str] | None, typer.Option(
        "--stage", help=f"only this stage (repeatable): {', '.join(ALL_STAGES)}")] = None
           ) -> None:
    """Compare the stages record by record with shop-clear: its mirror, the index and the
    category counts; missing, extra and stale keys per stage. Exit 1 unless all agree."""
    cfg = load_config()
    unknown = sorted(set(stage or ()) - set(ALL_STAGES))
    if unknown:
        _fail(f"no stage {', '.join(unknown)}: choose from {', '.join(ALL_STAGES)}")
    require_cluster(cfg)
    require_cluster(cfg, cfg.mirror.target)
    stages = [s for s in ALL_STAGES if s in stage] if stage else ALL_STAGES
    report = verify_stages(cfg, wait_s=wait, stages=stages)
    typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)


dlq_app = typer.Typer(no_args_is_help=True, help="The dead-letter topics of the pipeline.")
app.add_typer(dlq_app, name="dlq")


@dlq_app.command("list")
def dlq_list() -> None:
    """Each dead-letter topic with its letters and how many are not replayed yet."""
    cfg = load_config()
    require_cluster(cfg)
    require_cluster(cfg, cfg.mirror.target)
    for topic, (letters, pending) in dlq_counts(cfg).items():
        typer.echo(f"{topic}: {letters} letter(s), {pending} not replayed")


@dlq_app.command("replay")
def dlq_replay(
        topic: str,
        dry_run: Annotated[bool, typer.Option(
            "--dry-run", help="count what would be re-driven; write nothing")] = False,
        from_beginning: Annotated[bool, typer.Option(
            "--from-beginning", help="every letter, also those replayed before")] = False,
) -> None:
    """Re-drive the dead letters of TOPIC not replayed yet to their original topics, in one
    transaction with the replay group's offsets (each letter once)."""
    cfg = load_config()
    require_cluster(cfg, dlq_topic(cfg, topic).cluster)
    result = replay_dead_letters(cfg, topic, dry_run=dry_run, from_beginning=from_beginning)
    for line in result.summary():
        typer.echo(line)


@app.command("lab")
def run_lab() -> None:
    """Run every notebook with papermill into runs/<timestamp>/ and print a status table."""
    cfg = load_config()
    if not notebook_paths(cfg):
        _fail(f"no numbered notebooks (NN_*.ipynb) in {cfg.paths.notebooks}; run `pokupai` "
              "from a checkout of the lab or set LAB_PATHS__ROOT")
    summary = run_notebooks(cfg)
    typer.echo(summary.to_markdown(index=False))
    if not (summary["status"] == "ok").all():
        sys.exit(1)


def main(argv: Sequence[str] | None = None) -> None:
    """The ``pokupai`` command; ``argv`` defaults to the process's arguments. Exits."""
    # The library's progress (downloads, notebooks) as bare lines on stderr, the way Python
    # already prints its warnings; other libraries stay at WARNING.
    logging.basicConfig(format="%(message)s")
    logging.getLogger("pokupai_lib").setLevel(logging.INFO)
    app(args=None if argv is None else list(argv), prog_name="pokupai")
