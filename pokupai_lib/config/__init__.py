"""The one typed configuration of the lab: profile, paths, versions, ports, principals, topics.

Loaded once by :func:`load_config` and frozen: code that needs other settings derives a copy
with ``model_copy(update=...)`` instead of changing the shared object. Environment variables
prefixed ``LAB_`` (nested with ``__``, e.g. ``LAB_PRIMARY__HEAP_MB=768``) and papermill
parameters only choose the profile or override a value; nothing else in the library writes a
port, a topic name or a version a second time.
"""


from __future__ import annotations

from functools import cached_property, lru_cache

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from pokupai_lib.config.base import (
    CLIENT_PRINCIPALS,
    PROFILES,
    ClusterName,
    LabPaths,
    Principal,
    Profile,
    Versions,
    project_root,
)
from pokupai_lib.config.kafka import (
    ClusterConfig,
    KafkaNode,
    MirrorConfig,
    PrimaryCluster,
    PrimaryTopics,
    SecondaryCluster,
    TopicLayout,
    TopicSpec,
)
from pokupai_lib.config.services import (
    AlertReceiverConfig,
    BanApiConfig,
    ClientApiConfig,
    ConnectConfig,
    ElasticConfig,
    FilterConfig,
    KsqlDbConfig,
    LoopbackService,
    MonitoringConfig,
    RecommenderConfig,
    RegistryConfig,
    Timeouts,
)
from pokupai_lib.errors import ConfigError

__all__ = [
    "CLIENT_PRINCIPALS",
    "PROFILES",
    "AlertReceiverConfig",
    "BanApiConfig",
    "ClientApiConfig",
    "ClusterConfig",
    "ClusterName",
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
    "PrimaryCluster",
    "PrimaryTopics",
    "Principal",
    "Profile",
    "RecommenderConfig",
    "RegistryConfig",
    "SecondaryCluster",
    "Timeouts",
    "TopicLayout",
    "TopicSpec",
    "Versions",
    "load_config",
    "project_root",
]


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
