"""One Elasticsearch 8 node (Maven Central's integ-test distribution) holding ``products``.

The distribution lacks the ``analysis-common`` module, so there is no built-in ``russian``
analyzer. Russian morphology comes from the core ``hunspell`` filter with Debian's ``ru_RU``
dictionary (package ``hunspell-ru``, unpacked, not installed). Elasticsearch refuses to run
as root, so under root the node runs as the unprivileged ``cfg.elastic.run_as`` user.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from elasticsearch import ApiError, Elasticsearch

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import ArtifactError, SearchIndexError
from pokupai_lib.runtime.artifacts import apt_get, fetch_distribution, java_executable, megabytes
from pokupai_lib.runtime.supervisor import ServiceSpec, Supervisor, http_probe

__all__ = ["ELASTIC_SERVICE", "analyze", "elastic_client", "elastic_spec", "ensure_es_dist",
           "ensure_hunspell_ru", "ensure_products_index", "index_count", "start_elastic",
           "template_body"]

log = logging.getLogger(__name__)
ELASTIC_SERVICE = "elasticsearch"
_DICTIONARY_FILES = ("ru_RU.aff", "ru_RU.dic")


def _es_home(cfg: LabConfig) -> Path:
    return cfg.paths.cache / "jvm" / f"elasticsearch-{cfg.versions.elasticsearch}"


def ensure_es_dist(cfg: LabConfig) -> Path:
    """Elasticsearch's home (``bin/``, ``lib/``, ``modules/``), fetched and unpacked once."""
    coordinates = (f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:"
                   f"{cfg.versions.elasticsearch}:zip")
    root = fetch_distribution(coordinates, _es_home(cfg))
    homes = [p.parent.parent for p in root.glob("*/bin/elasticsearch")]
    if len(homes) != 1:
        raise ArtifactError(f"no bin/elasticsearch in {root}; run `make clean` and retry")
    return homes[0]


def _dictionary_dir(cfg: LabConfig) -> Path:
    return cfg.paths.cache / "hunspell" / "ru_RU"


def ensure_hunspell_ru(cfg: LabConfig) -> Path:
    """Debian's Russian hunspell dictionary (``ru_RU.aff``/``.dic``), unpacked once.

    Raises ArtifactError saying how to provide the files by hand where apt is missing.
    """
    target = _dictionary_dir(cfg)
    if all((target / name).exists() for name in _DICTIONARY_FILES):
        return target
    how = (f"put ru_RU.aff and ru_RU.dic (from any hunspell-ru / LibreOffice Russian "
           f"dictionary) into {target}")
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise ArtifactError(f"Russian analysis needs Debian's hunspell-ru dictionary and there "
                            f"is no apt-get here; {how}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        result = apt_get(["download", "hunspell-ru"], work)
        debs = list(work.glob("hunspell-ru*.deb"))
        if result.returncode != 0 or not debs:
            raise ArtifactError(f"`apt-get download hunspell-ru` failed: "
                                f"{result.stderr.strip()[-300:]}; {how}")
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(work / "x")],  # noqa: S603,S607
                       check=True, capture_output=True)
        found = {p.name: p for p in (work / "x").rglob("ru_RU.*") if p.name in _DICTIONARY_FILES}
        if len(found) != len(_DICTIONARY_FILES):
            raise ArtifactError(f"hunspell-ru has no ru_RU.aff/.dic ({sorted(found)}); {how}")
        target.mkdir(parents=True, exist_ok=True)
        for name, path in found.items():
            shutil.copyfile(path.resolve(), target / name)
        log.info("fetched Debian's %s: %s, into %s", debs[0].name,
                 megabytes(debs[0].stat().st_size), target)
    return target


def _run_as(cfg: LabConfig) -> str | None:
    """The user the node runs as: an unprivileged system user under root, else the caller."""
    if os.geteuid() != 0:
        return None
    user = cfg.elastic.run_as
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home",  # noqa: S603,S607
                        "--shell", "/usr/sbin/nologin", user], check=True, capture_output=True)
    return user


def _let_traverse(paths: list[Path]) -> list[Path]:
    """Give "others" the search bit on every ancestor of ``paths`` lacking it, so the node's
    user can reach its home and state inside a checkout under, e.g., a 0700 home directory.
    Only traversal is granted, not listing. Returns the directories changed."""
    changed = []
    for path in paths:
        for directory in path.resolve().parents:
            mode = directory.stat().st_mode
            if not mode & stat.S_IXOTH:
                directory.chmod(mode | stat.S_IXOTH)
                changed.append(directory)
    if changed:
        log.warning("granted o+x (traverse only) on %s for the Elasticsearch user",
                    ", ".join(map(str, changed)))
    return changed


def _state_dir(cfg: LabConfig) -> Path:
    return cfg.paths.state / "elasticsearch"


def _prepare_state(cfg: LabConfig, home: Path, user: str | None) -> Path:
    """Config (with the dictionary), data, logs and tmp dirs the node's user owns."""
    state = _state_dir(cfg)
    conf = state / "config"
    if not (conf / "jvm.options").exists():
        shutil.copytree(home / "config", conf, dirs_exist_ok=True)
    shutil.copytree(ensure_hunspell_ru(cfg), conf / "hunspell" / "ru_RU", dirs_exist_ok=True)
    settings = {
        "cluster.name": "pokupai", "node.name": "es-1",
        "path.data": str(state / "data"), "path.logs": str(state / "logs"),
        "network.host": cfg.elastic.host, "http.port": cfg.elastic.port,
        "transport.port": cfg.elastic.transport_port, "discovery.type": "single-node",
        # Otherwise the node turns on TLS and passwords on first start and then fails to create
        # its security index (that needs analysis-common, which this distribution lacks).
        "xpack.security.enabled": False,
        "action.auto_create_index": False,
    }
    (conf / "elasticsearch.yml").write_text(
        "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items()))
    for sub in ("data", "logs", "tmp"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    if user is not None:
        for path in (state, *state.rglob("*")):
            shutil.chown(path, user, user)
        _let_traverse([state, home])
    return conf


def elastic_spec(cfg: LabConfig, user: str | None = None) -> ServiceSpec:
    """The supervised node (the launcher, which stops the node cleanly on SIGTERM)."""
    es, state = cfg.elastic, _state_dir(cfg)
    java_home = Path(java_executable()).resolve().parents[1]
    home = next(iter(_es_home(cfg).glob("*/bin/elasticsearch")), Path("bin/elasticsearch"))
    return ServiceSpec(
        name=ELASTIC_SERVICE,
        command=[str(home)],
        ports=(es.port, es.transport_port),
        probe=lambda: http_probe(f"{es.url}/_cluster/health?wait_for_status=yellow&timeout=1s"),
        env={"ES_PATH_CONF": str(state / "config"), "ES_JAVA_HOME": str(java_home),
             "ES_JAVA_OPTS": f"-Xms{es.heap_mb}m -Xmx{es.heap_mb}m",
             "ES_TMPDIR": str(state / "tmp"), "HOME": str(state), "LANG": "C.UTF-8"},
        cwd=state,
        ready_timeout_s=es.ready_timeout_s,
        stop_timeout_s=cfg.service_stop_timeout_s,
        user=user,
    )


def start_elastic(cfg: LabConfig, supervisor: Supervisor) -> int:
    """Fetch (once), configure and start the node, wait for yellow, then ensure the index."""
    home = ensure_es_dist(cfg)
    user = _run_as(cfg)
    if supervisor.running_pid(ELASTIC_SERVICE) is None:
        _prepare_state(cfg, home, user)
    pid = supervisor.start(elastic_spec(cfg, user))
    ensure_products_index(cfg)
    return pid


def elastic_client(cfg: LabConfig, timeout_s: float = 30.0) -> Elasticsearch:
    return Elasticsearch(cfg.elastic.url, request_timeout=timeout_s)


def template_body(cfg: LabConfig) -> dict[str, Any]:
    """The ``products`` index template from ``infra/elasticsearch`` (comment keys dropped)."""
    path = cfg.paths.infra / "elasticsearch" / "products-template.json"
    body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return {key: value for key, value in body.items() if not key.startswith("_")}


def ensure_products_index(cfg: LabConfig) -> bool:
    """Put the index template and create the index if missing; True if it was created."""
    es, index = elastic_client(cfg), cfg.elastic.index
    es.indices.put_index_template(name=index, **template_body(cfg))
    if es.indices.exists(index=index):
        return False
    es.indices.create(index=index)
    es.cluster.health(index=index, wait_for_status="green", timeout="30s")
    return True


def index_count(cfg: LabConfig) -> int:
    """Documents in ``products`` after a refresh (what a search would see now)."""
    es, index = elastic_client(cfg), cfg.elastic.index
    es.indices.refresh(index=index)
    return int(es.count(index=index)["count"])


def analyze(cfg: LabConfig, texts: list[str]) -> pd.DataFrame:
    """How the index's Russian analyzer turns each text into search terms."""
    es = elastic_client(cfg)
    rows = []
    for text in texts:
        try:
            tokens = es.indices.analyze(index=cfg.elastic.index, analyzer="ru_text", text=text)
        except ApiError as exc:
            raise SearchIndexError(f"analyzing {text!r} failed: {exc}") from exc
        rows.append({"text": text, "terms": ", ".join(t["token"] for t in tokens["tokens"])})
    return pd.DataFrame(rows)
