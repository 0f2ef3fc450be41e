"""The lab's exception tree: every error says what failed and what to do about it.

::

    LabError
    ├── SetupError               the machine or the lab's files are not ready
    │   ├── MissingToolError
    │   ├── PortBusyError
    │   ├── StateDirError
    │   ├── ArtifactError
    │   ├── CertificateError
    │   └── CredentialError
    ├── InvalidInputError        a value given to the lab is refused (also a ValueError)
    ├── ServiceError             a service of the platform is down, slow or in the wrong state
    │   ├── ServiceNotReadyError
    │   ├── ClusterError
    │   │   └── ClusterDownError
    │   ├── RegistryUnavailable
    │   ├── ConnectorError
    │   ├── SearchIndexError
    │   └── BanWriteError
    └── StreamFault              a fault a stream stage handles itself
        ├── RecordRefused
        ├── ConsumerFenced
        │   └── ConsumerStuck
        ├── ProducerLost
        └── ZombieError

Built-in exceptions are still raised where they are a programming error (a node id a cluster
does not have, an unreachable branch) or where a protocol needs them (pydantic validators raise
ValueError, a Kafka client's failure stays the client's ``KafkaException`` so that
:mod:`pokupai_lib.kafka.faults` classifies it by code).
"""

from __future__ import annotations

__all__ = [
    "ArtifactError",
    "BanWriteError",
    "CertificateError",
    "ClusterDownError",
    "ClusterError",
    "ConfigError",
    "ConnectorError",
    "ConsumerFenced",
    "ConsumerStuck",
    "CredentialError",
    "InvalidInputError",
    "LabError",
    "LabTimeoutError",
    "MissingToolError",
    "PortBusyError",
    "ProducerLost",
    "ProfileUnavailableError",
    "RecordRefused",
    "RegistryUnavailable",
    "SearchIndexError",
    "ServiceError",
    "ServiceNotReadyError",
    "SetupError",
    "StateDirError",
    "StreamFault",
    "ZombieError",
]


class LabError(Exception):
    """Base of every error the lab raises on purpose."""


class SetupError(LabError):
    """The machine or the lab's files are not ready: a tool, a port, state, artifacts, certs."""


class ConfigError(SetupError):
    """The lab configuration (a profile, a ``LAB_*`` variable) is invalid."""


class ProfileUnavailableError(SetupError):
    """The requested profile cannot run on this machine (the docker profile without Docker)."""


class MissingToolError(SetupError):
    """A required program (Java, Maven, Python) is missing or too old."""


class PortBusyError(SetupError):
    """A port a service needs is already held by another process."""


class StateDirError(SetupError):
    """The state directory is corrupt or belongs to something else."""


class ArtifactError(SetupError):
    """A JVM artifact could not be resolved from Maven Central or built from our sources."""


class CertificateError(SetupError):
    """The lab's certificates could not be created or are unusable."""


class CredentialError(SetupError):
    """The moderator token is missing, empty or readable by others: the bootstrap makes one."""


class InvalidInputError(LabError, ValueError):
    """A value given to the lab (a ban term, a generator setting, a record) is refused.

    Also a ValueError, so pydantic validators and callers that expect one keep working.
    """


class ServiceError(LabError):
    """A service of the platform is down, too slow, or not in the state an operation needs."""


class ServiceNotReadyError(ServiceError):
    """A managed service did not pass its readiness probe in time."""


class RegistryUnavailable(ServiceError):
    """The schema registry did not answer usefully; a batch is retried, not dead-lettered."""


class StreamFault(LabError):
    """A fault a stream stage handles itself: it redoes the batch, restarts or steps down."""


class RecordRefused(StreamFault):
    """The broker refused a record of the batch for good; the batch is redone without it."""


class ConsumerFenced(StreamFault):
    """The group gave this long-running consumer's static membership to another member."""


class ConsumerStuck(ConsumerFenced):
    """The consumer stopped fetching while records wait; a fresh process fetches again."""


class ProducerLost(StreamFault):
    """A transactional producer is fenced or fatally broken: only a new one can go on."""


class ZombieError(StreamFault):
    """Another instance with the same transactional id and instance id took over."""


class BanWriteError(ServiceError):
    """A change to the ban list was not committed to ``ban-words`` (it is all or nothing)."""


class ClusterError(ServiceError):
    """A Kafka cluster is not in the state an operation needs."""


class ClusterDownError(ClusterError):
    """A Kafka cluster does not answer: its brokers refuse connections or time out."""


class ConnectorError(ServiceError):
    """Kafka Connect refused a connector or one of its tasks failed."""


class SearchIndexError(ServiceError):
    """Elasticsearch or its ``products`` index is not in the state an operation needs."""


class LabTimeoutError(LabError):
    """A wait did not see what it waited for in time; says what, the last state, the log."""
