"""The lab's own Python services under the supervisor: ban-words API, filter, client API."""

from __future__ import annotations

import sys

from pokupai_lib.config import LabConfig, LoopbackService
from pokupai_lib.runtime.supervisor import ON_FAILURE, ServiceSpec, Supervisor, http_probe

__all__ = ["ALERT_RECEIVER", "BANWORDS_API", "CLIENT_API", "FILTER", "RECOMMENDER",
           "alert_receiver_spec", "banwords_api_spec", "client_api_spec", "filter_spec",
           "recommender_spec", "start_alert_receiver", "start_banwords_api", "start_client_api",
           "start_filter", "start_recommender"]

ALERT_RECEIVER = "alert-receiver"
BANWORDS_API = "banwords-api"
CLIENT_API = "client-api"
FILTER = "filter"
RECOMMENDER = "recommender"


def _python_service_spec(cfg: LabConfig, name: str, args: list[str],
                         service: LoopbackService) -> ServiceSpec:
    """``python ARGS`` on loopback under its keeper, ready when ``/health`` answers 200."""
    return ServiceSpec(
        name=name,
        command=[sys.executable, *args],
        ports=(service.port,),
        probe=lambda: http_probe(f"{service.url}/health"),
        ready_timeout_s=service.ready_timeout_s,
        stop_timeout_s=cfg.service_stop_timeout_s,
        cwd=cfg.paths.root,
        restart=ON_FAILURE,
    )


def _uvicorn_spec(cfg: LabConfig, name: str, factory: str, api: LoopbackService) -> ServiceSpec:
    """uvicorn serving an app factory."""
    return _python_service_spec(cfg, name, [
        "-m", "uvicorn", "--factory", factory, "--host", api.host, "--port", str(api.port),
        "--no-access-log", "--loop", "uvloop", "--http", "httptools"], api)


def banwords_api_spec(cfg: LabConfig) -> ServiceSpec:
    """The ban-words API."""
    return _uvicorn_spec(cfg, BANWORDS_API, "pokupai_lib.bans.app:create_app", cfg.ban_api)


def client_api_spec(cfg: LabConfig) -> ServiceSpec:
    """The client API (search, recommendations)."""
    return _uvicorn_spec(cfg, CLIENT_API, "pokupai_lib.client_api.app:create_app", cfg.client_api)


def alert_receiver_spec(cfg: LabConfig) -> ServiceSpec:
    """The webhook receiver of Alertmanager's notifications."""
    return _uvicorn_spec(cfg, ALERT_RECEIVER, "pokupai_lib.monitoring.alert_receiver:create_app",
                         cfg.alert_receiver)


def _stream_app_spec(cfg: LabConfig, name: str, module: str, app: LoopbackService) -> ServiceSpec:
    """A long-running stream processor; its stats server answers ``/health``."""
    return _python_service_spec(cfg, name, ["-m", module], app)


def filter_spec(cfg: LabConfig) -> ServiceSpec:
    """The long-running exactly-once filter process."""
    return _stream_app_spec(cfg, FILTER, "pokupai_lib.ingest.app", cfg.filter)


def recommender_spec(cfg: LabConfig) -> ServiceSpec:
    """The Quix Streams recommendations engine."""
    return _stream_app_spec(cfg, RECOMMENDER, "pokupai_lib.recommendations.app", cfg.recommender)


def start_banwords_api(cfg: LabConfig, supervisor: Supervisor) -> int:
    """Start (or keep) the ban-words API and wait for /health."""
    return supervisor.start(banwords_api_spec(cfg))


def start_filter(cfg: LabConfig, supervisor: Supervisor) -> int:
    """Start (or keep) the filter and wait until it has loaded the ban list."""
    return supervisor.start(filter_spec(cfg))


def start_recommender(cfg: LabConfig, supervisor: Supervisor) -> int:
    """Start (or keep) the recommender and wait until it reaches its input topics."""
    return supervisor.start(recommender_spec(cfg))


def start_client_api(cfg: LabConfig, supervisor: Supervisor) -> int:
    """Start (or keep) the client API and wait for /health."""
    return supervisor.start(client_api_spec(cfg))


def start_alert_receiver(cfg: LabConfig, supervisor: Supervisor) -> int:
    """Start (or keep) the alert webhook receiver and wait for /health."""
    return supervisor.start(alert_receiver_spec(cfg))
