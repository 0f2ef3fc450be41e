"""The lab's exception tree: every error says what failed and what to do about it."""

from __future__ import annotations

__all__ = [
    "ArtifactError",
    "BanWriteError",
    "CertificateError",
    "ClusterError",
    "ConnectorError",
    "LabError",
    "LabTimeoutError",
    "MissingToolError",
    "PortBusyError",
    "SearchIndexError",
    "ServiceNotReadyError",
    "StateDirError",
]


class LabError(Exception):
    """Base of every error the lab raises on purpose."""


class MissingToolError(LabError):
    """A required program (Java, Maven, Python) is missing or too old."""


class PortBusyError(LabError):
    """A port a service needs is already held by another process."""


class StateDirError(LabError):
    """The state directory is corrupt or belongs to something else."""


class ArtifactError(LabError):
    """A JVM artifact could not be resolved from Maven Central."""


class CertificateError(LabError):
    """The lab's certificates could not be created or are unusable."""


class ServiceNotReadyError(LabError):
    """A managed service did not pass its readiness probe in time."""


class BanWriteError(LabError):
    """A change to the ban list was not committed to ``ban-words`` (it is all or nothing)."""


class ClusterError(LabError):
    """A Kafka cluster is not in the state an operation needs."""


class ConnectorError(LabError):
    """Kafka Connect refused a connector or one of its tasks failed."""


class SearchIndexError(LabError):
    """Elasticsearch or its ``products`` index is not in the state an operation needs."""


class LabTimeoutError(LabError):
    """A wait did not see what it waited for in time; says what, the last state, the log."""
