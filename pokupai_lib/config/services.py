"""Every service beside Kafka: where it listens and how it is tuned, and the shared timeouts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pokupai_lib.config.base import _Frozen
from pokupai_lib.config.kafka import TopicLayout, TopicSpec

__all__ = [
    "AlertReceiverConfig",
    "BanApiConfig",
    "ClientApiConfig",
    "ConnectConfig",
    "ElasticConfig",
    "FilterConfig",
    "KsqlDbConfig",
    "LoopbackService",
    "MonitoringConfig",
    "RecommenderConfig",
    "RegistryConfig",
    "Timeouts",
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
    """The schema registry (Apicurio, Confluent-compatible API).

    Clients use ``port``: nginx there serves Confluent's root paths (``/subjects``, …) from
    Apicurio's ``/apis/ccompat/v7`` and passes every other path through to Apicurio, which
    listens on ``backend_port``.
    """

    port: int = 8081
    backend_port: int = 8085
    heap_mb: int = 320
    ready_timeout_s: float = 120.0
    proxy_ready_timeout_s: float = 15.0

    @property
    def ccompat_path(self) -> str:
        return "/apis/ccompat/v7"

    @property
    def ccompat_url(self) -> str:
        """Base URL of the Confluent-compatible API, for confluent-kafka's client."""
        return f"{self.url}{self.ccompat_path}"

    @property
    def backend_url(self) -> str:
        """Apicurio itself, behind the proxy."""
        return f"http://{self.host}:{self.backend_port}"


class FilterConfig(LoopbackService):
    """The exactly-once ban filter: its consumer group, transactional id and stats port."""

    port: int = 6069
    # "-v2" since the filter keeps moderation state: an upgraded lab filters shop-raw again
    # from the start once, so every product it lists has a state (shop-clear gets the same
    # versions again, which every copy downstream overwrites by key).
    group_id: str = "filter-v2"
    transactional_id: str = "filter-v2-0"
    batch_size: int = 10_000
    # Child processes that judge a batch side by side while the filter writes the one before
    # (one judging child left the filter waiting for it: 65 µs a record there, 25 µs here).
    judges: int = 2
    # Below the producer's message.max.bytes (1,000,000 with key and headers) and the brokers'
    # max.message.bytes; a product larger than this as JSON is dead-lettered, not written.
    max_record_bytes: int = 950_000
    transaction_timeout_ms: int = 60_000
    transaction_call_timeout_s: float = 30.0
    # send_offsets_to_transaction answers in milliseconds, but waits for ever for a group
    # coordinator that restarted while the filter idled (librdkafka issue 5511, reproduced:
    # the next batch waited out the 30 s bound above); a new producer then goes on.
    send_offsets_timeout_s: float = Field(default=10.0, gt=0)
    # Each product is two records (shop-clear and shop-moderation, both carrying the version):
    # zstd leaves the brokers fewer bytes to replicate than lz4.
    compression: Literal["lz4", "zstd", "snappy", "gzip", "none"] = "zstd"
    # Fenced this soon after joining the group, another instance with the same ids is live:
    # step down.
    zombie_window_s: float = 60.0
    # A judging child that has not answered this long is replaced (5,000 records take 0.5 s).
    judge_timeout_s: float = 10.0
    # Longer than the longest legitimate round (the judging children 10 s, flush 60 s, offsets,
    # commit, abort 30 s each).
    watchdog_s: float = 170.0
    # Records waiting and none fetched for this long: the consumer is stuck, start afresh.
    stuck_after_s: float = 60.0
    # Reading shop-moderation back at start (200,000 products: about 1 million records read
    # at most before compaction, a few seconds).
    state_load_timeout_s: float = 120.0
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
    # The version suffix names a topology: the state stores, hop topics and committed offsets
    # of another topology are not this one's (version 2: hand-routed hop topics instead of
    # group_by and join_asof), so a new version starts its own group from the beginning.
    consumer_group: str = "recommender-v2"
    products_by_category: str = "products_by_category"
    searches_with_products: str = "SEARCHES_WITH_PRODUCTS"
    dead_letters: str = "recommender-dlq"
    # What the client API keeps per client for GET /recommendations/{id_client}.
    kept_per_client: int = 10
    # A search crosses three transactional hops and each becomes visible at a commit. The app
    # commits as soon as its input runs dry (so an idle platform answers a search within a
    # few polls), and under a steady stream at most this often: every commit is a
    # transaction over a dozen partitions, and a state key changed many times between two
    # commits is written to its changelog once.
    commit_interval_s: float = Field(default=2.0, gt=0)
    idle_commit_s: float = Field(default=0.1, ge=0)
    poll_timeout_s: float = 0.05
    # The app reads back its own hop topics: the broker must not hold empty fetches long,
    # but under load it answers a fetch only once this much is there (or the wait is over),
    # so a busy stream is read in fewer, larger fetches.
    fetch_wait_max_ms: int = 20
    fetch_min_bytes: int = Field(default=65_536, ge=1)
    # Scheduling niceness: on the lab's 2 cores the recommender's work under a bulk load
    # competes with the path to search (filter, MirrorMaker 2, Connect, Elasticsearch); it
    # yields to them and catches up after. Idle, nothing competes and it makes no difference.
    nice: int = Field(default=10, ge=0, le=19)
    # Term changes travel to the term index in at most this many records per product (one
    # per bucket of the terms' CRC-32), instead of one record per term.
    term_buckets: int = Field(default=3, ge=1)
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
    # Bound on send_offsets_to_transaction, which Quix leaves unbounded: after a restart of the
    # group coordinator it waited for ever (librdkafka issue 5511, reproduced), and the app
    # with it. Past the bound the app is rebuilt with a new producer.
    send_offsets_timeout_s: float = Field(default=10.0, gt=0)
    # Rebuilding the app after a Kafka fault: first and longest wait, and how long a run must
    # last for the next fault to start again from the first wait.
    restart_backoff_s: tuple[float, float] = (1.0, 30.0)
    healthy_after_s: float = 60.0

    @property
    def term_hop(self) -> str:
        """Term changes (batched per bucket) and searches, keyed by term bucket; under Quix's
        internal prefix for the ACLs."""
        return f"{self.internal_prefixes[1]}terms"

    @property
    def category_hop(self) -> str:
        """Membership changes and searches with their category, keyed by category."""
        return f"{self.internal_prefixes[1]}categories"

    @property
    def internal_prefixes(self) -> tuple[str, str]:
        """Quix names its changelog topics with the first prefix; the hop topics use the
        second."""
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
                layout.spec(self.term_hop),
                layout.spec(self.category_hop)]


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
