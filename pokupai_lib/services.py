"""The lab's own Python services under the supervisor: the ban-words API and the filter."""

from __future__ import annotations

import sys

from pokupai_lib.config import LabConfig
from pokupai_lib.supervisor import ServiceSpec, Supervisor, http_probe

__all__ = ["BANWORDS_API", "FILTER", "banwords_api_spec", "filter_spec",
           "start_banwords_api", "start_filter"]

BANWORDS_API = "banwords-api"
FILTER = "filter"


def banwords_api_spec(cfg: LabConfig) -> ServiceSpec:
    """uvicorn serving the ban-words API app factory on loopback."""
    api = cfg.ban_api
    return ServiceSpec(
        name=BANWORDS_API,
        command=[sys.executable, "-m", "uvicorn", "--factory",
                 "pokupai_lib.banwords_api:create_app", "--host", api.host,
                 "--port", str(api.port), "--no-access-log"],
        ports=(api.port,),
        probe=lambda: http_probe(f"{api.url}/health"),
        ready_timeout_s=api.ready_timeout_s,
        stop_timeout_s=cfg.service_stop_timeout_s,
        cwd=cfg.paths.root,
    )


def filter_spec(cfg: LabConfig) -> ServiceSpec:
    """The long-running exactly-once filter process."""
    return ServiceSpec(
        name=FILTER,
        command=[sys.executable, "-m", "pokupai_lib.filter_app"],
        ports=(cfg.filter.port,),
        probe=lambda: http_probe(f"{cfg.filter.url}/health"),
        ready_timeout_s=cfg.filter.ready_timeout_s,
        stop_timeout_s=cfg.service_stop_timeout_s,
        cwd=cfg.paths.root,
    )


def start_banwords_api(cfg: LabConfig, supervisor: Supervisor) -> int:
    """Start (or keep) the ban-words API and wait for /health."""
    return supervisor.start(banwords_api_spec(cfg))


def start_filter(cfg: LabConfig, supervisor: Supervisor) -> int:
    """Start (or keep) the filter and wait until it has loaded the ban list."""
    return supervisor.start(filter_spec(cfg))
