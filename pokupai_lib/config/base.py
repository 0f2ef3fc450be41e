"""The configuration's vocabulary (profiles, principals, cluster names), its frozen base model, the
versions of what the lab runs and the paths of the checkout."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CLIENT_PRINCIPALS",
    "PROFILES",
    "ClusterName",
    "LabPaths",
    "Principal",
    "Profile",
    "Versions",
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
    return Path(__file__).resolve().parents[2]


class Versions(_Frozen):
    """Every downloaded artifact's version, pinned here and nowhere else."""

    kafka: str = "4.3.1"
    scala: str = "2.13"
    log4j: str = "2.25.5"
    # 3.0.x is the newest Apicurio line that runs on Java 17 (3.1+ needs Java 21).
    apicurio: str = "3.0.9"
    elasticsearch: str = "8.19.21"
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
    def moderator_token(self) -> Path:
        """The token a write to the ban-words API presents (made by the bootstrap, mode 0600)."""
        return self.certs / "moderator.token"

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
