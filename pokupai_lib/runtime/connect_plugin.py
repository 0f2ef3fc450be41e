"""The lab's Kafka Connect sink plugin (``infra/connect/es-sink``, Java), built with Maven into
Connect's ``plugin.path``: once, and again only when its sources change."""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import ArtifactError
from pokupai_lib.runtime.artifacts import maven_and_partial, megabytes

__all__ = ["connect_plugins_dir", "ensure_connect_plugins", "sink_project", "source_digest"]

SINK_NAME = "pokupai-es-sink"
# What a plugin directory was built from; a different digest means build again.
_STAMP = ".source-sha256"
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
log = logging.getLogger(__name__)


def connect_plugins_dir(cfg: LabConfig) -> Path:
    """Kafka Connect's ``plugin.path``: one sub-directory per connector plugin."""
    return cfg.paths.cache / "jvm" / "connect-plugins"


def sink_project(cfg: LabConfig) -> Path:
    """The Maven project of the Elasticsearch sink."""
    return cfg.paths.infra / "connect" / "es-sink"


def source_digest(project: Path, properties: dict[str, str]) -> str:
    """SHA-256 of the project's files (``target/`` aside) and the build properties."""
    digest = hashlib.sha256()
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project)
        if path.is_file() and relative.parts[0] != "target":
            digest.update(f"{relative.as_posix()}\0".encode())
            digest.update(path.read_bytes())
    digest.update(repr(sorted(properties.items())).encode())
    return digest.hexdigest()


def ensure_connect_plugins(cfg: LabConfig) -> Path:
    """Build the sink plugin into ``plugin.path`` unless the built one has the same sources.

    Plugin directories of other versions (and of the Camel sink this one replaced) are
    removed, so Connect finds one connector class. Returns ``plugin.path``.
    Raises ArtifactError with the end of Maven's output when the build fails.
    """
    project = sink_project(cfg)
    properties = {"kafka.version": cfg.versions.kafka}
    plugins = connect_plugins_dir(cfg)
    target = plugins / f"{SINK_NAME}-{_project_version(project / 'pom.xml')}"
    for stale in (*plugins.glob(f"{SINK_NAME}-*"), *plugins.glob("camel-es-sink-*")):
        if stale.is_dir() and stale != target:
            shutil.rmtree(stale)
    digest = source_digest(project, properties)
    stamp = target / _STAMP
    if stamp.exists() and stamp.read_text(encoding="utf-8") == digest:
        return plugins
    mvn, partial = maven_and_partial(target)
    # A build directory of its own: `make test` may be using target/ at the same time.
    _build(mvn, project, cfg.paths.cache / "jvm" / f"{SINK_NAME}-build", partial, properties)
    size = sum(path.stat().st_size for path in partial.rglob("*") if path.is_file())
    log.info("built %s: %s, into %s", SINK_NAME, megabytes(size), target)
    (partial / _STAMP).write_text(digest, encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return plugins


def _build(mvn: str, project: Path, build_dir: Path, plugin_dir: Path,
           properties: dict[str, str]) -> None:
    """``mvn clean package`` without tests (``make test`` runs them), the plugin into
    ``plugin_dir``; on failure nothing is left there and ArtifactError has Maven's last lines."""
    command = [mvn, "-B", "-q", "-f", str(project / "pom.xml"), "clean", "package",
               "-DskipTests", f"-Dbuild.dir={build_dir}", f"-Dplugin.dir={plugin_dir}",
               *(f"-D{key}={value}" for key, value in properties.items())]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        shutil.rmtree(plugin_dir, ignore_errors=True)  # in plugin.path: Connect would scan it
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise ArtifactError(f"Maven could not build the Connect sink plugin ({' '.join(command)}); "
                            f"its last lines:\n{tail}")


def _project_version(pom: Path) -> str:
    """The ``<version>`` of a POM (the plugin directory is named after it)."""
    # our own POM from the checkout, not untrusted input
    version = ET.parse(pom).getroot().findtext(  # noqa: S314
        "m:version", namespaces=_POM_NS)
    if not version:
        raise ArtifactError(f"{pom} has no <version>")
    return version.strip()
