"""The webhook receiver Alertmanager notifies (port 6088): it records every notification.

Each alert of each notification (firing and resolved) becomes one JSON line in
``.lab/alerts/notifications.jsonl`` with the time it arrived, so a notebook or a test can show
when an alert fired and when it resolved. (No ``from __future__ import annotations``: FastAPI
reads the request models.)
"""

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict

from pokupai_lib.config import LabConfig, load_config
from pokupai_lib.runtime.rest_validation import explain_validation

__all__ = ["create_app", "notifications", "notifications_file"]


class Alert(BaseModel):
    """One alert as Alertmanager's webhook sends it (fields the lab reads; others kept)."""

    model_config = ConfigDict(extra="allow")
    status: str
    labels: dict[str, str]
    annotations: dict[str, str] = {}
    startsAt: str  # Alertmanager's field names
    endsAt: str = ""


class Notification(BaseModel):
    """Alertmanager's webhook payload (version 4)."""

    model_config = ConfigDict(extra="allow")
    receiver: str
    status: str
    alerts: list[Alert]


def notifications_file(cfg: LabConfig) -> Path:
    return cfg.paths.state / "alerts" / "notifications.jsonl"


def create_app(cfg: LabConfig | None = None) -> FastAPI:
    """The app factory (``uvicorn --factory pokupai_lib.monitoring.alert_receiver:create_app``)."""
    config = cfg or load_config()
    path = notifications_file(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    app = FastAPI(title="«Покупай выгодно» alert receiver")
    app.add_exception_handler(RequestValidationError, explain_validation)

    @app.post("/alerts")
    def receive(notification: Notification) -> dict[str, int]:
        """Record every alert of one notification."""
        received_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        lines = [orjson.dumps({"received_at": received_at, "receiver": notification.receiver,
                               **alert.model_dump()}) + b"\n" for alert in notification.alerts]
        with lock, path.open("ab") as out:
            out.writelines(lines)
        return {"recorded": len(lines)}

    @app.get("/notifications")
    def listed() -> list[dict[str, Any]]:
        return notifications(config)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "recorded": len(notifications(config))}

    return app


def notifications(cfg: LabConfig) -> list[dict[str, Any]]:
    """Every recorded alert notification, oldest first."""
    path = notifications_file(cfg)
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
