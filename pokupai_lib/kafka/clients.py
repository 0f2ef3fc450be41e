"""Client settings for every principal: confluent-kafka dicts and JVM tool property files."""

from __future__ import annotations

import logging
import socket
import ssl
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from pokupai_lib.config import ClusterName, LabConfig, Principal
from pokupai_lib.errors import CertificateError, ClusterDownError, InvalidInputError
from pokupai_lib.kafka.faults import kafka_error
from pokupai_lib.runtime.certs import CertFiles, cert_files, store_password

__all__ = ["admin_client", "client_config", "client_properties_path", "foreign_client_config",
           "jvm_client_properties", "kafka_client_logger", "require_cluster", "tls_context",
           "write_properties"]


def kafka_client_logger(cfg: LabConfig) -> logging.Logger:
    """librdkafka's log, written to ``.lab/logs/clients.log`` instead of the notebook's stderr."""
    logger = logging.getLogger("pokupai_lib.kafka")
    if not logger.handlers:
        cfg.paths.logs.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(cfg.paths.logs / "clients.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def _base(cfg: LabConfig, cluster: ClusterName) -> dict[str, Any]:
    return {
        "logger": kafka_client_logger(cfg),
        "bootstrap.servers": cfg.cluster(cluster).bootstrap_servers,
        "security.protocol": "SSL",
        "ssl.ca.location": str(cfg.paths.certs / "ca.crt"),
        "ssl.endpoint.identification.algorithm": "https",
    }


def client_config(cfg: LabConfig, cluster: ClusterName, principal: Principal | None,
                  **overrides: Any) -> dict[str, Any]:
    """mTLS settings for ``principal`` (its own certificate); None means no client certificate."""
    conf = _base(cfg, cluster)
    if principal is not None:
        if principal not in (*cfg.principals, *cfg.broker_names):
            raise InvalidInputError(f"unknown principal {principal!r}; "
                                    f"known: {', '.join(cfg.principals)}")
        files = cert_files(cfg.paths.certs, principal)
        conf |= {"ssl.certificate.location": str(files.cert),
                 "ssl.key.location": str(files.key),
                 "client.id": principal}
    return conf | overrides


def foreign_client_config(cfg: LabConfig, cluster: ClusterName, **overrides: Any) -> dict[str, Any]:
    """Settings presenting an ``admin`` certificate signed by a CA the cluster does not trust."""
    files = cert_files(cfg.paths.certs / "foreign", "admin")
    return _base(cfg, cluster) | {"ssl.certificate.location": str(files.cert),
                                  "ssl.key.location": str(files.key),
                                  "client.id": "foreign-admin"} | overrides


def admin_client(cfg: LabConfig, cluster: ClusterName = "primary") -> AdminClient:
    """An AdminClient authenticated as ``admin`` (a super user)."""
    return AdminClient(client_config(cfg, cluster, "admin"))


def _accepts(port: int, timeout_s: float) -> bool:
    try:
        with socket.create_connection(("localhost", port), timeout=timeout_s):
            return True
    except OSError:
        return False


def require_cluster(cfg: LabConfig, cluster: ClusterName = "primary",
                    timeout_s: float = 5.0) -> None:
    """Fail at once, saying what to do, unless ``cluster`` answers a metadata request.

    For commands that should not wait minutes on a cluster that is down. A stopped cluster is
    told by a plain TCP connect first: a refused port answers at once, while librdkafka only
    reports it when its request times out.

    Args:
        cfg: the lab configuration.
        cluster: which cluster.
        timeout_s: how long a broker that accepts connections may take to answer as ``admin``.

    Raises:
        ClusterDownError: no broker accepts a connection, or none answers within ``timeout_s``.
        CertificateError: the lab CA or the ``admin`` certificate is missing.
    """
    servers = cfg.cluster(cluster).bootstrap_servers
    if not any(_accepts(node.broker_port, min(timeout_s, 1.0))
               for node in cfg.cluster(cluster).nodes):
        raise ClusterDownError(f"the {cluster} cluster does not answer at {servers}: start it "
                               "with `make up` (`pokupai status` shows what runs)")
    files = cert_files(cfg.paths.certs, "admin")
    missing = [p for p in (cfg.paths.certs / "ca.crt", files.cert, files.key) if not p.exists()]
    if missing:
        raise CertificateError(f"{missing[0]} is missing: create the lab's certificates with "
                               "`make bootstrap`")
    admin = admin_client(cfg, cluster)
    try:
        admin.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        error = kafka_error(exc)
        raise ClusterDownError(
            f"the {cluster} cluster at {servers} did not answer within {timeout_s:g} s "
            f"({error.str() if error is not None else exc}): see `pokupai status` and "
            f"{cfg.paths.logs}/kafka-*.log, or restart it with `make down up`") from exc


def tls_context(cfg: LabConfig, identity: CertFiles | None) -> ssl.SSLContext:
    """A TLS client context trusting the lab CA, presenting ``identity`` (None: no certificate)."""
    context = ssl.create_default_context(cafile=str(cfg.paths.certs / "ca.crt"))
    if identity is not None:
        context.load_cert_chain(str(identity.cert), str(identity.key))
    return context


def write_properties(path: Path, props: dict[str, str]) -> Path:
    """Write a Java ``.properties`` file (mode 0600: it may hold store passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{key}={value}\n" for key, value in props.items())
    path.write_text(text)
    path.chmod(0o600)
    return path


def jvm_ssl_properties(cfg: LabConfig, name: str) -> dict[str, str]:
    """Keystore and truststore settings for a JVM process authenticating as ``name``."""
    password = store_password(cfg.paths.certs)
    return {
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(cert_files(cfg.paths.certs, name).keystore),
        "ssl.keystore.password": password,
        "ssl.key.password": password,
        "ssl.truststore.type": "PKCS12",
        "ssl.truststore.location": str(cfg.paths.certs / "truststore.p12"),
        "ssl.truststore.password": password,
    }


def client_properties_path(cfg: LabConfig, principal: Principal) -> Path:
    """Where :func:`jvm_client_properties` writes ``principal``'s file."""
    return cfg.paths.state / "clients" / f"{principal}.properties"


def jvm_client_properties(cfg: LabConfig, principal: Principal = "admin") -> Path:
    """A ``--command-config`` file for Kafka's own tools, as ``principal``."""
    props = {"security.protocol": "SSL", **jvm_ssl_properties(cfg, principal)}
    return write_properties(client_properties_path(cfg, principal), props)
