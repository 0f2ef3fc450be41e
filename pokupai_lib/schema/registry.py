"""The schema registry: Apicurio Registry 3 from Maven Central, Confluent-compatible API.

Storage is Apicurio's SQL storage on an H2 file database under the state dir, so subjects,
versions and schema ids survive a restart. Clients reach it through nginx on the public port
(see :mod:`registry_proxy`), which also serves Confluent's root paths; the lab's own clients
use confluent-kafka's ``SchemaRegistryClient`` against ``/apis/ccompat/v7``.
"""

from __future__ import annotations

from pathlib import Path

from confluent_kafka.schema_registry import SchemaRegistryClient

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import ArtifactError
from pokupai_lib.runtime.artifacts import fetch_distribution, java_executable
from pokupai_lib.runtime.supervisor import ServiceSpec, Supervisor, http_probe
from pokupai_lib.schema.registry_proxy import start_registry_proxy

__all__ = ["REGISTRY_SERVICE", "ensure_registry_dist", "registry_client", "registry_spec",
           "start_registry"]

REGISTRY_SERVICE = "schema-registry"


def _registry_home(cfg: LabConfig) -> Path:
    return cfg.paths.cache / "jvm" / f"apicurio-registry-{cfg.versions.apicurio}"


def _runner_jar(home: Path) -> Path | None:
    runners = sorted(home.rglob("*-runner.jar")) or sorted(home.rglob("quarkus-run.jar"))
    return runners[0] if runners else None


def ensure_registry_dist(cfg: LabConfig) -> Path:
    """The runnable Apicurio jar of the pinned version, fetched and unpacked once."""
    home = fetch_distribution(
        f"io.apicurio:apicurio-registry-app:{cfg.versions.apicurio}:tar.gz:all",
        _registry_home(cfg))
    runner = _runner_jar(home)
    if runner is None:
        raise ArtifactError(f"no runnable jar in {home}; run `make clean` and retry")
    return runner


def registry_spec(cfg: LabConfig) -> ServiceSpec:
    """The supervised registry process (heap sized for the lab's memory budget)."""
    reg = cfg.registry
    database = cfg.paths.state / "registry" / "registry"
    props = {
        "quarkus.http.host": reg.host,
        "quarkus.http.port": str(reg.backend_port),
        "quarkus.management.enabled": "false",
        "quarkus.log.console.color": "false",
        "apicurio.storage.kind": "sql",
        "apicurio.storage.sql.kind": "h2",
        "apicurio.datasource.url": f"jdbc:h2:file:{database}",
        "apicurio.datasource.username": "sa",
        "apicurio.datasource.password": "sa",
        "apicurio.ccompat.legacy-id-mode.enabled": "true",
    }
    # Buildable before the download (for `pokupai status`); start_registry fetches first.
    runner = _runner_jar(_registry_home(cfg)) or _registry_home(cfg) / "not-downloaded-yet.jar"
    return ServiceSpec(
        name=REGISTRY_SERVICE,
        command=[java_executable(), f"-Xms{reg.heap_mb // 2}m", f"-Xmx{reg.heap_mb}m",
                 "-XX:+UseSerialGC", "-XX:MaxMetaspaceSize=192m", "-XX:+ExitOnOutOfMemoryError",
                 *(f"-D{key}={value}" for key, value in props.items()), "-jar", str(runner)],
        ports=(reg.backend_port,),
        probe=lambda: http_probe(f"{reg.backend_url}/health/ready"),
        ready_timeout_s=reg.ready_timeout_s,
        stop_timeout_s=cfg.service_stop_timeout_s,
    )


def start_registry(cfg: LabConfig, supervisor: Supervisor) -> int:
    """Fetch (once) and start the registry and its proxy, waiting until it answers at
    Confluent's root paths; return the registry's pid."""
    ensure_registry_dist(cfg)
    (cfg.paths.state / "registry").mkdir(parents=True, exist_ok=True)
    pid = supervisor.start(registry_spec(cfg))
    start_registry_proxy(cfg, supervisor)
    return pid


def registry_client(cfg: LabConfig) -> SchemaRegistryClient:
    """confluent-kafka's client, pointed at the registry's Confluent-compatible API."""
    return SchemaRegistryClient({"url": cfg.registry.ccompat_url})
