"""The ``java`` command line shared by Kafka, Kafka Connect and MirrorMaker 2: one JVM sizing,
the Kafka jars on the class path, and the JMX exporter agent when metrics are wanted."""

from __future__ import annotations

from pokupai_lib.config import LabConfig
from pokupai_lib.runtime.artifacts import java_executable, jmx_agent_path, kafka_libs_dir

__all__ = ["CONNECT_METRICS_RULES", "jvm_command"]

# Connect and MirrorMaker 2 (Connect workers inside) share one exporter rule file.
CONNECT_METRICS_RULES = "jmx-connect-rules.yaml"

def jvm_command(cfg: LabConfig, main_class: str, args: list[str], heap_mb: int = 128,
                log_config: str = "tools-log4j2.properties",
                metrics_port: int | None = None,
                metrics_rules: str = "jmx-kafka-rules.yaml") -> list[str]:
    """A ``java`` command line running ``main_class`` from the Kafka jars; with
    ``metrics_port``, the JMX exporter javaagent serves Prometheus metrics there, selected
    and named by ``infra/monitoring/<metrics_rules>``."""
    libs = kafka_libs_dir(cfg)
    agent = ([f"-javaagent:{jmx_agent_path(cfg)}={cfg.monitoring.host}:{metrics_port}:"
              f"{cfg.paths.infra / 'monitoring' / metrics_rules}"]
             if metrics_port is not None else [])
    return [
        java_executable(), *agent, f"-Xms{heap_mb}m", f"-Xmx{heap_mb}m", "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20", "-XX:MaxMetaspaceSize=192m",
        "-XX:ReservedCodeCacheSize=96m", "-XX:MaxDirectMemorySize=256m",
        "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={cfg.paths.infra / 'kafka' / log_config}",
        "-cp", f"{libs}/*", main_class, *args,
    ]
