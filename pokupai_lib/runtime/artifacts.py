"""JVM artifacts resolved from Maven Central into the git-ignored cache (``.cache/jvm``)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import ArtifactError

__all__ = ["apt_get", "ensure_jmx_agent", "ensure_kafka_libs", "fetch_distribution",
           "java_executable", "jmx_agent_path", "kafka_libs_dir", "maven_and_partial", "megabytes",
           "resolve_dependencies"]

DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
# 2.8's copy does not resolve the artifact's parent POM, which Central lacks for some
# distributions (Apicurio 3.0.9's); 3.x refuses to copy without it.
ARCHIVE_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:2.8"
_COMPLETE = ".complete"
log = logging.getLogger(__name__)


def apt_get(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``apt-get -q ARGS``; as root, when it fails, refresh the package lists once and
    retry (a new machine often has none). The caller reads the result's return code."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def run(arguments: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["apt-get", "-q", *arguments], cwd=cwd,  # noqa: S603,S607
                              capture_output=True, text=True, env=env, check=False)

    result = run(args)
    if result.returncode != 0 and os.geteuid() == 0:
        run(["update"])
        result = run(args)
    return result


def java_executable() -> str:
    """The ``java`` on PATH; preflight has already checked its version."""
    java = shutil.which("java")
    if java is None:
        raise ArtifactError("java not found: install a JDK 17+ and put it on PATH")
    return java


def maven_and_partial(out_dir: Path) -> tuple[str, Path]:
    """The ``mvn`` executable and an empty staging path beside ``out_dir``."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ArtifactError("mvn not found: install Maven 3.6+ (apt-get install maven)")
    partial = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    return mvn, partial


def resolve_dependencies(pom: Path, out_dir: Path, properties: dict[str, str]) -> Path:
    """Copy the runtime dependencies of ``pom`` into ``out_dir`` once; later calls are free.

    The copy goes to a temporary directory first, so an interrupted download leaves nothing
    that looks complete. Raises ArtifactError with Maven's last lines when resolution fails.
    """
    if (out_dir / _COMPLETE).exists():
        return out_dir
    mvn, partial = maven_and_partial(out_dir)
    command = [mvn, "-B", "-q", "-f", str(pom), f"{DEPENDENCY_PLUGIN}:copy-dependencies",
               f"-DoutputDirectory={partial}", "-DincludeScope=runtime",
               *(f"-D{key}={value}" for key, value in properties.items())]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise ArtifactError(f"Maven could not resolve {pom.parent.name} "
                            f"({' '.join(command)}):\n{tail}")
    size = sum(path.stat().st_size for path in partial.rglob("*") if path.is_file())
    log.info("fetched %s: %s, into %s", pom.parent.name, megabytes(size), out_dir)
    shutil.rmtree(out_dir, ignore_errors=True)
    partial.rename(out_dir)
    (out_dir / _COMPLETE).touch()
    return out_dir


def fetch_distribution(coordinates: str, out_dir: Path) -> Path:
    """Download one archive (``group:artifact:version:type[:classifier]``, tar.gz or zip) and
    unpack it once.

    Returns ``out_dir`` holding the unpacked files. Raises ArtifactError with Maven's answer.
    """
    if (out_dir / _COMPLETE).exists():
        return out_dir
    mvn, partial = maven_and_partial(out_dir)
    partial.mkdir(parents=True)
    command = [mvn, "-B", "-q", f"{ARCHIVE_PLUGIN}:copy", f"-Dartifact={coordinates}",
               f"-DoutputDirectory={partial}"]
    result = subprocess.run(command, capture_output=True, text=True, check=False,  # noqa: S603
                            cwd=partial)
    archives = [*partial.glob("*.tar.gz"), *partial.glob("*.zip")]
    if result.returncode != 0 or len(archives) != 1:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise ArtifactError(f"Maven could not fetch {coordinates}:\n{tail}")
    log.info("fetched %s: %s, into %s", coordinates, megabytes(archives[0].stat().st_size),
             out_dir)
    _unpack(archives[0], partial)
    archives[0].unlink()
    shutil.rmtree(out_dir, ignore_errors=True)
    partial.rename(out_dir)
    (out_dir / _COMPLETE).touch()
    return out_dir


def megabytes(size: int) -> str:
    """A byte count as the one-decimal megabytes shown in download lines."""
    return f"{size / 1e6:.1f} MB"


def _unpack(archive: Path, into: Path) -> None:
    if archive.suffix != ".zip":
        with tarfile.open(archive) as tar:
            tar.extractall(into, filter="data")
        return
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            target = Path(zipped.extract(info, into))
            mode = (info.external_attr >> 16) & 0o777
            if mode:  # zipfile drops the permission bits; scripts must stay executable
                target.chmod(mode)


def kafka_libs_dir(cfg: LabConfig) -> Path:
    """Where the jars of the pinned Kafka version live."""
    return cfg.paths.cache / "jvm" / f"kafka-{cfg.versions.kafka}"


def ensure_kafka_libs(cfg: LabConfig) -> Path:
    """Apache Kafka's jars (broker, tools, log4j2) for the pinned version."""
    return resolve_dependencies(
        cfg.paths.infra / "maven" / "kafka" / "pom.xml", kafka_libs_dir(cfg),
        {"kafka.version": cfg.versions.kafka, "scala.version": cfg.versions.scala,
         "log4j.version": cfg.versions.log4j})


def ensure_jmx_agent(cfg: LabConfig) -> Path:
    """The Prometheus JMX exporter javaagent jar of the pinned version."""
    version = cfg.versions.jmx_exporter
    directory = resolve_dependencies(cfg.paths.infra / "maven" / "jmx-exporter" / "pom.xml",
                                     jmx_agent_path(cfg).parent,
                                     {"jmx.exporter.version": version})
    jar = directory / f"jmx_prometheus_javaagent-{version}.jar"
    if not jar.exists():
        raise ArtifactError(f"no {jar.name} in {directory}; run `make clean` and retry")
    return jar


def jmx_agent_path(cfg: LabConfig) -> Path:
    """Where the javaagent jar lives once fetched."""
    version = cfg.versions.jmx_exporter
    return cfg.paths.cache / "jvm" / f"jmx-exporter-{version}" / (
        f"jmx_prometheus_javaagent-{version}.jar")
