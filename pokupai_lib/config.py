"""The one typed configuration of the lab: profile, paths, versions, ports, principals, topics.

Loaded once by :func:`load_config` and frozen: code that needs other settings derives a copy
with ``model_copy(update=...)`` instead of changing the shared object. Environment variables
prefixed ``LAB_`` (nested with ``__``, e.g. ``LAB_PRIMARY__HEAP_MB=768``) and papermill
parameters only choose the profile or override a value; nothing else in the library writes a
port, a topic name or a version a second time.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from pokupai_lib.errors import ConfigError

__all__ = [
    "CLIENT_PRINCIPALS",
    "PROFILES",
    "AlertReceiverConfig",
    "BanApiConfig",
    "ClientApiConfig",
    "ClusterConfig",
    "ConnectConfig",
    "ElasticConfig",
    "FilterConfig",
    "KafkaNode",
    "KsqlDbConfig",
    "LabConfig",
    "LabPaths",
    "LoopbackService",
    "MirrorConfig",
    "MonitoringConfig",
    "Principal",
    "Profile",
    "RecommenderConfig",
    "RegistryConfig",
    "Timeouts",
    "TopicLayout",
    "TopicSpec",
    "Versions",
    "load_config",
    "project_root",
]

ClusterName = Literal["primary", "secondary"]
Profile = Literal["local", "docker"]
# The designed client principals, one certificate each (DESIGN.md section 5); ``intruder`` has a
# valid certificate and no grants, for the refusal demos.
Principal = Literal[
    "admin",
    "shop-publisher",
    "banwords-api",
    "filter",
    "client-api",
    "connect",
    "mirror",
    "recommender",
    "intruder",
]

CLIENT_PRINCIPALS: tuple[Principal, ...] = get_args(Principal)
PROFILES: tuple[Profile, ...] = get_args(Profile)


class _Frozen(BaseModel):
    """A part of the configuration: read-only once loaded (derive a changed copy with
    ``model_copy(update=...)``)."""

    model_config = ConfigDict(frozen=True)


def project_root() -> Path:
    """The checkout this package lives in (``LAB_PATHS__ROOT`` overrides it)."""
    return Path(__file__).resolve().parents[1]


class Versions(_Frozen):
    """Every downloaded artifact's version, pinned here and nowhere else."""

    kafka: str = "4.3.1"
    scala: str = "2.13"
    log4j: str = "2.25.5"
    # 3.0.x is the newest Apicurio line that runs on Java 17 (3.1+ needs Java 21).
    apicurio: str = "3.0.9"
    elasticsearch: str = "8.19.21"
    # Newest CamelSinkConnector on Maven Central, and the Camel line it was built on.
    camel_kafka_connector: str = "0.11.0"
    camel: str = "3.21.0"
    # Newest JMX exporter javaagent on Maven Central here (1.1+ is not served).
    jmx_exporter: str = "1.0.1"


class LabPaths(_Frozen):
    """Where the lab keeps its files; all but ``root`` are git-ignored."""

    root: Path = Field(default_factory=project_root)

    @property
    def cache(self) -> Path:
        return self.root / ".cache"

    @property
    def state(self) -> Path:
        return self.root / ".lab"

    @property
    def certs(self) -> Path:
        return self.root / "certs"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def infra(self) -> Path:
        return self.root / "infra"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pids(self) -> Path:
        return self.state / "run"

    def log(self, service: str) -> Path:
        """The log file of a supervised service (``kafka-*`` names the brokers' logs)."""
        return self.logs / f"{service}.log"


class KafkaNode(_Frozen):
    """One KRaft node acting as broker and controller."""

    node_id: int
    broker_port: int
    controller_port: int

    @property
    def name(self) -> str:
        """Service name and certificate CN, e.g. ``kafka-1``."""
        return f"kafka-{self.node_id}"


class ClusterConfig(_Frozen):
    """A 3-node KRaft cluster; ``primary`` takes nodes 1–3, ``secondary`` nodes 4–6."""

    name: ClusterName
    nodes: tuple[KafkaNode, ...]
    heap_mb: int = 512
    ready_timeout_s: float = 120.0

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"localhost:{n.broker_port}" for n in self.nodes)

    @property
    def quorum_voters(self) -> str:
        return ",".join(f"{n.node_id}@localhost:{n.controller_port}" for n in self.nodes)

    def node(self, node_id: int) -> KafkaNode:
        """The node with this id; raises KeyError naming the cluster when there is none."""
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(f"cluster {self.name} has no node {node_id}")


def _nodes(first_id: int, broker_base: int, controller_base: int) -> tuple[KafkaNode, ...]:
    return tuple(
        KafkaNode(node_id=first_id + i, broker_port=broker_base + 2 * i,
                  controller_port=controller_base + 2 * i)
        for i in range(3)
    )


class PrimaryCluster(ClusterConfig):
    """Nodes 1–3 on the design's primary ports."""

    name: ClusterName = "primary"
    nodes: tuple[KafkaNode, ...] = Field(default_factory=lambda: _nodes(1, 9093, 9193))


class SecondaryCluster(ClusterConfig):
    """Nodes 4–6 on the design's secondary ports."""

    name: ClusterName = "secondary"
    nodes: tuple[KafkaNode, ...] = Field(default_factory=lambda: _nodes(4, 9293, 9393))


class TopicLayout(_Frozen):
    """Partitions, replication factor and min ISR: the design's for every topic of the lab,
    the brokers' defaults and the internal topics of Kafka, Connect and MirrorMaker 2 too."""

    partitions: int = 3
    replication_factor: int = 3
    min_insync_replicas: int = 2

    def spec(self, name: str, compacted: bool = False) -> TopicSpec:
        """The topic ``name`` with this layout."""
        return TopicSpec(name=name, compacted=compacted, **self.model_dump())


class TopicSpec(TopicLayout):
    """A topic as the design defines it (build it with :meth:`TopicLayout.spec`)."""

    name: str
    compacted: bool = False

    @property
    def configs(self) -> dict[str, str]:
        return {
            "min.insync.replicas": str(self.min_insync_replicas),
            "cleanup.policy": "compact" if self.compacted else "delete",
            "unclean.leader.election.enable": "false",
        }


class PrimaryTopics(_Frozen):
    """Names of the primary cluster's topics, and the layout of every topic of the lab."""

    shop_raw: str = "shop-raw"
    shop_clear: str = "shop-clear"
    ban_words: str = "ban-words"
    shop_dlq: str = "shop-dlq"
    client_searches: str = "client-searches"
    layout: TopicLayout = Field(default_factory=TopicLayout)

    def specs(self) -> list[TopicSpec]:
        """The primary's topics as :func:`~pokupai_lib.kafka.topics.ensure_topics` makes them."""
        return [
            self.layout.spec(self.shop_raw),
            self.layout.spec(self.shop_clear),
            self.layout.spec(self.ban_words, compacted=True),
            self.layout.spec(self.shop_dlq),
            self.layout.spec(self.client_searches),
        ]


class LoopbackService(_Frozen):
    """A service of the lab listening on loopback: where it is and how long it may take."""

    host: str = "127.0.0.1"
    port: int
    ready_timeout_s: float = 60.0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class RegistryConfig(LoopbackService):
    """The schema registry (Apicurio, Confluent-compatible API)."""

    port: int = 8081
    heap_mb: int = 320
    ready_timeout_s: float = 120.0

    @property
    def ccompat_url(self) -> str:
        """Base URL of the Confluent-compatible API, for confluent-kafka's client."""
        return f"{self.url}/apis/ccompat/v7"


class FilterConfig(LoopbackService):
    """The exactly-once ban filter: its consumer group, transactional id and stats port."""

    port: int = 6069
    group_id: str = "filter"
    transactional_id: str = "filter-0"
    batch_size: int = 10_000
    # Below the producer's message.max.bytes (1,000,000 with key and headers) and the brokers'
    # max.message.bytes; a product larger than this as JSON is dead-lettered, not written.
    max_record_bytes: int = 950_000
    transaction_timeout_ms: int = 60_000
    transaction_call_timeout_s: float = 30.0
    # Fenced this soon after start, another instance with the same ids is live: step down.
    zombie_window_s: float = 60.0
    # Longer than the longest legitimate round (flush 60 s + offsets, commit, abort 30 s each).
    watchdog_s: float = 160.0
    # Records waiting and none fetched for this long: the consumer is stuck, start afresh.
    stuck_after_s: float = 60.0
    backoff_first_s: float = 0.5
    backoff_max_s: float = 5.0


class BanApiConfig(LoopbackService):
    """The ban-words API: each request's changes go to ``ban-words`` in one transaction."""

    port: int = 6068
    # Fixed, so a restarted API fences its predecessor's unfinished transaction at once.
    transactional_id: str = "banwords-api"
    # ``pokupai ban add`` writes as admin, all its terms in one transaction under this id.
    cli_transactional_id: str = "pokupai-cli"
    # Checked before the body is parsed. The largest valid bulk-add as UTF-8 JSON (1000 terms
    # of 100 Cyrillic letters) is 204 KB, so it fits; the same with \uXXXX escapes does not.
    max_body_bytes: int = 256 * 1024
    # Bounds each step of a request's transaction (init, commit, abort); a commit and an
    # abort together stay under the 15 s the lab's HTTP clients wait.
    write_timeout_s: float = 5.0


class MirrorConfig(_Frozen):
    """MirrorMaker 2 in dedicated mode, replicating primary → secondary as principal ``mirror``."""

    source: ClusterName = "primary"
    target: ClusterName = "secondary"
    heap_mb: int = 320
    ready_timeout_s: float = 120.0
    refresh_interval_s: int = 10

    @property
    def worker_group(self) -> str:
        """The Connect worker group MirrorMaker 2 forms on the target (``<source>-mm2``)."""
        return f"{self.source}-mm2"

    def remote_topic(self, topic: str) -> str:
        """The name DefaultReplicationPolicy gives ``topic`` on the target."""
        return f"{self.source}.{topic}"


class ConnectConfig(LoopbackService):
    """Kafka Connect (distributed) on the secondary cluster, principal ``connect``."""

    port: int = 8083
    heap_mb: int = 384
    ready_timeout_s: float = 120.0
    group_id: str = "connect-cluster"
    # Every topic and group of Connect starts with this, so its ACLs are prefixed grants.
    prefix: str = "connect-"
    sink_name: str = "products-es-sink"

    @property
    def dlq_topic(self) -> str:
        return f"{self.prefix}dlq-{self.sink_name}"

    @property
    def internal_topics(self) -> tuple[str, str, str]:
        """Config, offset and status topics of the worker group."""
        return (f"{self.prefix}configs", f"{self.prefix}offsets", f"{self.prefix}status")


class ElasticConfig(LoopbackService):
    """One Elasticsearch node holding the ``products`` index."""

    port: int = 9200
    transport_port: int = 9300
    heap_mb: int = 512
    ready_timeout_s: float = 180.0
    index: str = "products"
    # The distribution refuses to run as root; the lab runs it as this unprivileged user.
    run_as: str = "pokupai-es"


class ClientApiConfig(LoopbackService):
    """The client API: search (and, later, recommendations)."""

    port: int = 6078
    search_size: int = 10
    es_timeout_s: float = 2.0


class RecommenderConfig(LoopbackService):
    """The recommendations engine (Quix Streams) on the secondary, principal ``recommender``."""

    port: int = 6079
    consumer_group: str = "recommender"
    products_by_category: str = "products_by_category"
    searches_with_products: str = "SEARCHES_WITH_PRODUCTS"
    dead_letters: str = "recommender-dlq"
    # What the client API keeps per client for GET /recommendations/{id_client}.
    kept_per_client: int = 10
    # A search crosses three transactional hops and each becomes visible at a commit, so
    # the commit interval sets the latency (Quix's default of 5 s gave 18 s at p50).
    commit_interval_s: float = 0.1
    poll_timeout_s: float = 0.05
    # The app reads back its own repartition topics: the broker must not hold empty fetches.
    fetch_wait_max_ms: int = 20
    # How long a search may lag behind the newest version of the products it joins.
    join_grace_s: int = 3600
    # Searches that match nothing still produce a row, with empty fields (the MVP's LEFT JOIN).
    keep_unmatched: bool = True
    # Names a products_by_category row shows (the newest live ones; PRODUCT_COUNT stays exact).
    # The category state keeps twice as many; the cap keeps that state far below a record's
    # size even with names of the longest length the recommender accepts.
    shown_per_category: int = Field(default=20, ge=1, le=100)
    # A value the recommender builds that serializes to more bytes than this goes to its
    # dead-letter topic instead: the brokers' max.message.bytes (1 MiB) less headroom for the
    # key, the headers and the record overhead.
    max_value_bytes: int = Field(default=900_000, ge=1_000)
    # How much of an input value a dead letter carries (a prefix, with the value's size).
    dead_letter_value_bytes: int = Field(default=10_000, ge=100)
    # The producer's transaction.timeout.ms: a fence in a run younger than this cannot be the
    # coordinator aborting an old transaction, so it is a second instance.
    transaction_timeout_s: int = Field(default=60, ge=1)
    # Rebuilding the app after a Kafka fault: first and longest wait, and how long a run must
    # last for the next fault to start again from the first wait.
    restart_backoff_s: tuple[float, float] = (1.0, 30.0)
    healthy_after_s: float = 60.0

    @property
    def hop_topic(self) -> str:
        """Searches re-keyed by their category; under Quix's internal prefix for the ACLs."""
        return f"{self.internal_prefixes[1]}searches-by-category"

    @property
    def internal_prefixes(self) -> tuple[str, str]:
        """Quix names its changelog and repartition topics with these prefixes."""
        return f"changelog__{self.consumer_group}--", f"repartition__{self.consumer_group}--"

    @property
    def transactional_id(self) -> str:
        """Fixed, so a restarted process fences its killed predecessor at once."""
        return f"{self.consumer_group}-0"

    def topic_specs(self, layout: TopicLayout) -> list[TopicSpec]:
        """The topics the lab creates for it on the secondary (Quix creates its internal ones),
        with the lab's ``layout`` (``cfg.topics.layout``)."""
        return [layout.spec(self.products_by_category, compacted=True),
                layout.spec(self.searches_with_products),
                layout.spec(self.dead_letters),
                layout.spec(self.hop_topic)]


class AlertReceiverConfig(LoopbackService):
    """The webhook Alertmanager notifies; it records every notification for the notebooks."""

    port: int = 6088


class MonitoringConfig(_Frozen):
    """JMX exporters, VictoriaMetrics + vmalert, Alertmanager (Debian packages), on loopback."""

    host: str = "127.0.0.1"
    victoria_metrics_port: int = 8428
    vmalert_port: int = 8880
    alertmanager_port: int = 9099
    # A broker's exporter listens on jmx_base_port + node id (7071..7076); Connect and
    # MirrorMaker 2 take the two after the brokers.
    jmx_base_port: int = 7070
    connect_jmx_port: int = 7077
    mirror_jmx_port: int = 7078
    scrape_interval_s: int = 5
    ready_timeout_s: float = 60.0

    def broker_jmx_port(self, node_id: int) -> int:
        return self.jmx_base_port + node_id


class Timeouts(_Frozen):
    """The platform-wide waits, in seconds; a function's ``timeout_s`` argument overrides one."""

    # One HTTP request to a lab service (ban-words API, client API, VictoriaMetrics, vmalert).
    # The ban-words API keeps a commit and an abort together under this (ban_api.write_timeout_s).
    http_s: float = 15.0
    # One Kafka metadata or offsets request (topics, watermarks, the cluster's brokers).
    kafka_call_s: float = 15.0
    # Reading a topic from a start to the end offsets taken at the call (read_range, ban-words).
    read_s: float = 60.0
    # A cluster or service settling after a start or a fault: brokers registered, ISRs full
    # again, a connector RUNNING, every scrape target up.
    settle_s: float = 90.0
    # A stage catching up with what was published before the call: the filter, MirrorMaker 2,
    # the index, the recommender, a product through every stage.
    catch_up_s: float = 180.0


class KsqlDbConfig(_Frozen):
    """ksqlDB, a container of the docker profile: where its REST API is."""

    host: str = "localhost"
    port: int = 8088
    # Set to use a ksqlDB server in any profile; unset, the docker profile's container is used.
    url: str | None = None
    push_query_limit: int = 10


class LabConfig(BaseSettings):
    """The whole lab's settings; see the module docstring for overrides."""

    model_config = SettingsConfigDict(env_prefix="LAB_", env_nested_delimiter="__", frozen=True)

    profile: Profile = "local"
    paths: LabPaths = Field(default_factory=LabPaths)
    versions: Versions = Field(default_factory=Versions)
    primary: PrimaryCluster = Field(default_factory=PrimaryCluster)
    secondary: SecondaryCluster = Field(default_factory=SecondaryCluster)
    topics: PrimaryTopics = Field(default_factory=PrimaryTopics)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    filter: FilterConfig = Field(default_factory=FilterConfig)
    ban_api: BanApiConfig = Field(default_factory=BanApiConfig)
    mirror: MirrorConfig = Field(default_factory=MirrorConfig)
    connect: ConnectConfig = Field(default_factory=ConnectConfig)
    elastic: ElasticConfig = Field(default_factory=ElasticConfig)
    client_api: ClientApiConfig = Field(default_factory=ClientApiConfig)
    ksqldb: KsqlDbConfig = Field(default_factory=KsqlDbConfig)
    recommender: RecommenderConfig = Field(default_factory=RecommenderConfig)
    alert_receiver: AlertReceiverConfig = Field(default_factory=AlertReceiverConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    principals: tuple[Principal, ...] = CLIENT_PRINCIPALS
    cert_validity_days: int = 365
    cert_renew_within_days: int = 30
    service_stop_timeout_s: float = 30.0

    @cached_property
    def broker_names(self) -> tuple[str, ...]:
        return tuple(n.name for c in (self.primary, self.secondary) for n in c.nodes)

    @property
    def super_users(self) -> tuple[str, ...]:
        """Kafka principals with every right: the six brokers and ``admin``."""
        return tuple(f"User:CN={name}" for name in (*self.broker_names, "admin"))

    @property
    def mirrored_topics(self) -> tuple[str, ...]:
        """The primary topics MirrorMaker 2 copies to the secondary."""
        return (self.topics.shop_clear, self.topics.client_searches)

    @property
    def ksqldb_url(self) -> str | None:
        """The ksqlDB REST API: ``ksqldb.url`` when set, else the docker profile's container;
        None in the local profile (the recommendations run in Quix there)."""
        if self.ksqldb.url is not None:
            return self.ksqldb.url
        if self.profile == "docker":
            return f"http://{self.ksqldb.host}:{self.ksqldb.port}"
        return None

    def cluster(self, name: ClusterName) -> ClusterConfig:
        return self.primary if name == "primary" else self.secondary


@lru_cache(maxsize=4)
def load_config(profile: str | None = None) -> LabConfig:
    """The lab configuration, read once from defaults and ``LAB_*`` variables.

    Args:
        profile: ``local`` or ``docker`` (a notebook passes its ``profile`` parameter); None
            takes ``LAB_PROFILE``, else ``local``. Given, it wins over ``LAB_PROFILE``.

    Raises:
        ConfigError: an unknown profile or an invalid ``LAB_*`` value.
    """
    if profile is not None and profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}")
    try:
        return LabConfig() if profile is None else LabConfig(profile=profile)
    except ValidationError as exc:
        raise ConfigError(f"invalid lab configuration (check the LAB_* variables; profile is "
                          f"one of {', '.join(PROFILES)}): {exc}") from exc
