"""Who may talk to the cluster: the refusals of the security model and an authorized round trip."""

from __future__ import annotations

import json
import re
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from pokupai_lib.config import ClusterName, LabConfig
from pokupai_lib.kafka.clients import client_config, tls_context
from pokupai_lib.runtime.certs import CertFiles, cert_files
from pokupai_lib.runtime.wait import wait_until

__all__ = ["AccessOutcome", "RoundTrip", "attempt_metadata", "attempt_produce",
           "attempt_tls_handshake", "ban_words_round_trip", "security_refusals"]


@dataclass(frozen=True)
class AccessOutcome:
    """What the cluster answered one client: allowed, or the error it refused with."""

    who: str
    action: str
    allowed: bool
    error_code: str
    error: str


def attempt_tls_handshake(who: str, cfg: LabConfig, port: int, identity: CertFiles | None,
                          wait_s: float = 2.0) -> AccessOutcome:
    """Open a TLS session presenting ``identity`` (or no certificate) and await the verdict.

    In TLS 1.3 the server checks the client certificate after the client has finished its
    side, so a refusal arrives as an alert on the first read; silence means it was accepted.
    """
    context = tls_context(cfg, identity)
    action = f"TLS handshake with localhost:{port}"
    try:
        with socket.create_connection(("localhost", port), timeout=wait_s) as raw, \
                context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.settimeout(wait_s)
            tls.recv(1)
    except ssl.SSLError as exc:
        return AccessOutcome(who, action, False, exc.reason or type(exc).__name__,
                             exc.strerror or str(exc))
    except TimeoutError:
        return AccessOutcome(who, action, True, "", "")
    return AccessOutcome(who, action, False, "CLOSED", "the broker closed the connection")


_VOLATILE = re.compile(r" \(after \d+ms in state \w+\)")


def _first_error(errors: list[KafkaError]) -> KafkaError | None:
    tls = [e for e in errors if e.code() in (KafkaError._SSL, KafkaError._AUTHENTICATION)]
    candidates = tls or errors
    return candidates[0] if candidates else None


def attempt_metadata(who: str, conf: dict[str, Any], timeout_s: float = 5.0) -> AccessOutcome:
    """Ask for cluster metadata with ``conf``; the first transport error is the answer."""
    errors: list[KafkaError] = []
    admin = AdminClient(conf | {"error_cb": errors.append, "log_level": 0,
                                "reconnect.backoff.ms": 1000,
                                "reconnect.backoff.max.ms": 2000})
    failed: KafkaError | None = None
    try:
        admin.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        failed = exc.args[0]
    admin.poll(0.5)  # serves error_cb, which carries the per-broker reason
    error = _first_error(errors) if failed is not None else None
    if failed is None:
        return AccessOutcome(who, "list topics", True, "", "")
    error = error or failed
    return AccessOutcome(who, "list topics", False, error.name(),
                         _VOLATILE.sub("", error.str()))


def attempt_produce(who: str, conf: dict[str, Any], topic: str, value: bytes,
                    key: bytes | None = None, timeout_s: float = 20.0) -> AccessOutcome:
    """Produce one record with acks=all and no retries; report the broker's verdict."""
    results: list[KafkaError | None] = []
    producer = Producer(conf | {"acks": "all", "retries": 0, "enable.idempotence": False,
                                "message.timeout.ms": int(timeout_s * 1000), "log_level": 0})
    producer.produce(topic, value, key, on_delivery=lambda err, _msg: results.append(err))
    producer.flush(timeout_s + 5)
    error = results[0] if results else KafkaError(KafkaError._MSG_TIMED_OUT, "no delivery report")
    action = f"produce to {topic}"
    if error is None:
        return AccessOutcome(who, action, True, "", "")
    return AccessOutcome(who, action, False, error.name(), error.str())


def security_refusals(cfg: LabConfig, cluster: ClusterName = "primary") -> list[AccessOutcome]:
    """The three refusals: no client certificate, an untrusted CA, a principal without grants."""
    port = cfg.cluster(cluster).nodes[0].broker_port
    return [
        attempt_tls_handshake("no client certificate", cfg, port, None),
        attempt_tls_handshake("certificate from an untrusted CA (CN=admin)", cfg, port,
                              cert_files(cfg.paths.certs / "foreign", "admin")),
        attempt_produce("intruder (valid certificate, no ACLs)",
                        client_config(cfg, cluster, "intruder"), cfg.topics.shop_raw,
                        b'{"product_id": "intruder"}'),
    ]


@dataclass(frozen=True)
class RoundTrip:
    """One record written and read back by an authorized principal."""

    topic: str
    partition: int
    offset: int
    sent: dict[str, str]
    received: dict[str, str]
    latency_ms: float


_PROBE_TERM = "lab-roundtrip-probe"


def ban_words_round_trip(cfg: LabConfig, timeout_s: float = 20.0) -> RoundTrip:
    """As ``banwords-api``: add a probe term to ``ban-words``, read it back, then delete it.

    The tombstone leaves the ban list as it was, so the step can be re-run at will.
    """
    topic = cfg.topics.ban_words
    conf = client_config(cfg, "primary", "banwords-api")
    record = {"term": _PROBE_TERM, "kind": "word", "source": "lab round trip",
              "added_at": datetime.now(UTC).isoformat(timespec="seconds")}
    delivered: list[Any] = []
    producer = Producer(conf | {"acks": "all", "enable.idempotence": True})
    started = time.perf_counter()
    producer.produce(topic, json.dumps(record).encode(), _PROBE_TERM.encode(),
                     on_delivery=lambda err, msg: delivered.append(err or msg))
    producer.flush(timeout_s)
    if not delivered or isinstance(delivered[0], KafkaError):
        raise KafkaException(delivered[0] if delivered else KafkaError(KafkaError._MSG_TIMED_OUT))
    partition, offset = delivered[0].partition(), delivered[0].offset()
    received = _read_at(conf, topic, partition, offset, timeout_s)
    latency_ms = (time.perf_counter() - started) * 1000
    producer.produce(topic, None, _PROBE_TERM.encode())  # tombstone: the probe term is gone
    producer.flush(timeout_s)
    return RoundTrip(topic, partition, offset, record, received, latency_ms)


def _read_at(conf: dict[str, Any], topic: str, partition: int, offset: int,
             timeout_s: float) -> dict[str, str]:
    consumer = Consumer(conf | {"group.id": "banwords-api.roundtrip",
                                "enable.auto.commit": False,
                                "isolation.level": "read_committed"})
    try:
        consumer.assign([TopicPartition(topic, partition, offset)])

        def record_at_offset() -> dict[str, str] | None:
            msg = consumer.poll(1.0)
            if msg is None:
                return None
            if msg.error():
                raise KafkaException(msg.error())
            value = msg.value()
            if msg.offset() != offset or value is None:
                return None
            parsed: dict[str, str] = json.loads(value)
            return parsed

        return wait_until(record_at_offset, until=lambda _record: True, timeout_s=timeout_s,
                          every_s=0, what=f"record {topic}[{partition}]@{offset} read back")
    finally:
        consumer.close()
