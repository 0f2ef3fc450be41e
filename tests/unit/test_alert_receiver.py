"""The alert webhook receiver records Alertmanager's notifications (no services)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from pokupai_lib.config import LabConfig
from pokupai_lib.monitoring.alert_receiver import create_app, notifications
from pokupai_lib.monitoring.checks import notifications_frame


def _payload(status: str) -> dict[str, object]:
    return {"version": "4", "receiver": "lab-webhook", "status": status, "groupKey": "{}:{}",
            "alerts": [{"status": status, "labels": {"alertname": "KafkaBrokerDown",
                                                     "instance": "127.0.0.1:7072",
                                                     "severity": "critical"},
                        "annotations": {"summary": "broker kafka-2 is down"},
                        "startsAt": "2026-11-25T19:00:00Z",
                        "endsAt": "2026-11-25T19:01:00Z" if status == "resolved" else "",
                        "fingerprint": "abc"}]}


def test_firing_and_resolved_notifications_are_recorded_in_order(tmp_cfg: LabConfig) -> None:
    client = TestClient(create_app(tmp_cfg))
    assert client.post("/alerts", json=_payload("firing")).json() == {"recorded": 1}
    assert client.post("/alerts", json=_payload("resolved")).json() == {"recorded": 1}
    recorded = notifications(tmp_cfg)
    assert [n["status"] for n in recorded] == ["firing", "resolved"]
    assert recorded[0]["fingerprint"] == "abc"  # Alertmanager's other fields are kept
    frame = notifications_frame(tmp_cfg)
    assert list(frame["alert"]) == ["KafkaBrokerDown"] * 2
    assert frame["summary"].iloc[0] == "broker kafka-2 is down"
    assert client.get("/health").json() == {"status": "ok", "recorded": 2}


def test_a_payload_without_alerts_is_a_422_naming_the_field(tmp_cfg: LabConfig) -> None:
    client = TestClient(create_app(tmp_cfg))
    response = client.post("/alerts", json={"receiver": "x", "status": "firing"})
    assert response.status_code == 422
    assert {"field": "alerts", "error": "Field required"} in response.json()["detail"]
    assert notifications(tmp_cfg) == []
