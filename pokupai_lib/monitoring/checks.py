"""Tables of what monitoring saw, for notebooks and tests (pandas stays out of the services)."""

from __future__ import annotations

import pandas as pd

from pokupai_lib.config import LabConfig
from pokupai_lib.monitoring.alert_receiver import notifications

__all__ = ["notifications_frame"]


def notifications_frame(cfg: LabConfig, since: str | None = None) -> pd.DataFrame:
    """Recorded notifications as a table (alert name, status, instance, times)."""
    rows = [{"received_at": n["received_at"], "alert": n["labels"].get("alertname", ""),
             "status": n["status"], "instance": n["labels"].get("instance", ""),
             "severity": n["labels"].get("severity", ""), "starts_at": n["startsAt"],
             "ends_at": n.get("endsAt", ""), "summary": n.get("annotations", {}).get("summary", "")}
            for n in notifications(cfg) if since is None or n["received_at"] >= since]
    return pd.DataFrame(rows, columns=["received_at", "alert", "status", "instance", "severity",
                                       "starts_at", "ends_at", "summary"])
