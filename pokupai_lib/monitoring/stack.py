"""Metrics and alerts: VictoriaMetrics scraping the JMX exporters, vmalert, Alertmanager.

VictoriaMetrics (with vmalert) and Alertmanager are Debian's ``victoria-metrics`` and
``prometheus-alertmanager`` packages, installed by the bootstrap where apt exists; elsewhere
one line says how to get them. The scrape configuration is generated from the lab config;
the alert rules and Alertmanager's routing are files in ``infra/monitoring/``.
"""

from __future__ import annotations

import logging
import string
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import yaml

from pokupai_lib.config import LabConfig
from pokupai_lib.monitoring.alert_receiver import notifications
from pokupai_lib.runtime.debian import ensure_debian_programs, missing_programs
from pokupai_lib.runtime.supervisor import ServiceSpec, Supervisor, http_probe
from pokupai_lib.runtime.wait import wait_until

__all__ = ["ALERTMANAGER", "MONITORING_SERVICES", "VICTORIA_METRICS", "VMALERT",
           "ensure_monitoring_tools", "missing_monitoring_tools", "monitoring_specs",
           "query_range", "rules_frame", "scrape_config", "start_monitoring", "targets_frame",
           "wait_for_alert", "wait_for_targets"]

log = logging.getLogger(__name__)
VICTORIA_METRICS = "victoria-metrics"
VMALERT = "vmalert"
ALERTMANAGER = "alertmanager"
MONITORING_SERVICES = (VICTORIA_METRICS, VMALERT, ALERTMANAGER)
_BINARIES = {"victoria-metrics": "victoria-metrics", "vmalert": "victoria-metrics",
             "prometheus-alertmanager": "prometheus-alertmanager"}


def missing_monitoring_tools() -> list[str]:
    """The monitoring programs not on PATH."""
    return missing_programs(_BINARIES)


def ensure_monitoring_tools() -> None:
    """Install Debian's packages when a monitoring program is missing (as root, where apt
    exists). Raises MissingToolError saying what to install when that is not possible."""
    ensure_debian_programs(_BINARIES, "monitoring")


def _target(host: str, port: int, **labels: str) -> dict[str, Any]:
    return {"targets": [f"{host}:{port}"], "labels": labels}


def scrape_config(cfg: LabConfig) -> dict[str, Any]:
    """VictoriaMetrics' scrape configuration: every exporter the lab runs."""
    mon, host = cfg.monitoring, cfg.monitoring.host
    brokers = [_target(host, mon.broker_jmx_port(n.node_id), cluster=c.name,
                       broker_id=str(n.node_id))
               for c in (cfg.primary, cfg.secondary) for n in c.nodes]
    return {
        "global": {"scrape_interval": f"{mon.scrape_interval_s}s",
                   "scrape_timeout": f"{mon.scrape_interval_s - 1}s"},
        "scrape_configs": [
            {"job_name": "kafka", "static_configs": brokers},
            {"job_name": "kafka-connect",
             "static_configs": [_target(host, mon.connect_jmx_port, cluster="secondary")]},
            {"job_name": "mirror-maker",
             "static_configs": [_target(host, mon.mirror_jmx_port, cluster="secondary")]},
            {"job_name": "filter",
             "static_configs": [_target(cfg.filter.host, cfg.filter.port, cluster="primary")]},
            {"job_name": "recommender",
             "static_configs": [_target(cfg.recommender.host, cfg.recommender.port,
                                        cluster="secondary")]},
        ],
    }


def _state(cfg: LabConfig) -> Path:
    return cfg.paths.state / "monitoring"


def _write_configs(cfg: LabConfig) -> dict[str, Path]:
    state = _state(cfg)
    state.mkdir(parents=True, exist_ok=True)
    scrape = state / "scrape.yml"
    scrape.write_text(yaml.safe_dump(scrape_config(cfg), sort_keys=False))
    template = string.Template(
        (cfg.paths.infra / "monitoring" / "alertmanager.yml").read_text(encoding="utf-8"))
    routing = state / "alertmanager.yml"
    routing.write_text(template.substitute(webhook_url=f"{cfg.alert_receiver.url}/alerts"))
    return {"scrape": scrape, "alertmanager": routing,
            "rules": cfg.paths.infra / "monitoring" / "vmalert-rules.yml"}


def monitoring_specs(cfg: LabConfig) -> list[ServiceSpec]:
    """The three supervised monitoring processes, in start order."""
    mon, state = cfg.monitoring, _state(cfg)
    vm_url = f"http://{mon.host}:{mon.victoria_metrics_port}"
    am_url = f"http://{mon.host}:{mon.alertmanager_port}"
    common = {"ready_timeout_s": mon.ready_timeout_s,
              "stop_timeout_s": cfg.service_stop_timeout_s}
    return [
        ServiceSpec(
            name=VICTORIA_METRICS,
            command=["victoria-metrics", f"-storageDataPath={state / 'data'}",
                     f"-httpListenAddr={mon.host}:{mon.victoria_metrics_port}",
                     "-retentionPeriod=7d", f"-promscrape.config={state / 'scrape.yml'}",
                     "-promscrape.config.strictParse=true",
                     # The default 30 s would delay every alert by 30 s.
                     "-search.latencyOffset=2s", "-selfScrapeInterval=0"],
            ports=(mon.victoria_metrics_port,), probe=lambda: http_probe(f"{vm_url}/health"),
            **common),  # type: ignore[arg-type]
        ServiceSpec(
            name=ALERTMANAGER,
            command=["prometheus-alertmanager", f"--config.file={state / 'alertmanager.yml'}",
                     f"--storage.path={state / 'alertmanager'}",
                     f"--web.listen-address={mon.host}:{mon.alertmanager_port}",
                     "--cluster.listen-address="],
            ports=(mon.alertmanager_port,), probe=lambda: http_probe(f"{am_url}/-/ready"),
            **common),  # type: ignore[arg-type]
        ServiceSpec(
            name=VMALERT,
            command=["vmalert", f"-datasource.url={vm_url}", f"-remoteWrite.url={vm_url}",
                     f"-remoteRead.url={vm_url}", f"-notifier.url={am_url}",
                     f"-rule={cfg.paths.infra / 'monitoring' / 'vmalert-rules.yml'}",
                     f"-evaluationInterval={mon.scrape_interval_s}s",
                     f"-httpListenAddr={mon.host}:{mon.vmalert_port}",
                     f"-external.url=http://{mon.host}:{mon.vmalert_port}"],
            ports=(mon.vmalert_port,),
            probe=lambda: http_probe(f"http://{mon.host}:{mon.vmalert_port}/health"),
            **common),  # type: ignore[arg-type]
    ]


def start_monitoring(cfg: LabConfig, supervisor: Supervisor) -> list[int]:
    """Install (once) and start VictoriaMetrics, Alertmanager and vmalert; return pids."""
    ensure_monitoring_tools()
    _write_configs(cfg)
    return [supervisor.start(spec) for spec in monitoring_specs(cfg)]


def query_range(cfg: LabConfig, query: str, start: float, end: float,
                step_s: int = 5) -> pd.DataFrame:
    """A PromQL range query on VictoriaMetrics: one column per series, indexed by time."""
    mon = cfg.monitoring
    response = httpx.get(
        f"http://{mon.host}:{mon.victoria_metrics_port}/api/v1/query_range",
        params={"query": query, "start": start, "end": end, "step": f"{step_s}s"},
        timeout=cfg.timeouts.http_s)
    response.raise_for_status()
    columns = {}
    for series in response.json()["data"]["result"]:
        label = ",".join(f"{k}={v}" for k, v in sorted(series["metric"].items())) or query
        columns[label] = pd.Series({pd.Timestamp(t, unit="s", tz="UTC"): float(v)
                                    for t, v in series["values"]})
    return pd.DataFrame(columns)


def targets_frame(cfg: LabConfig) -> pd.DataFrame:
    """Every scrape target with its job, labels and whether its last scrape worked."""
    mon = cfg.monitoring
    response = httpx.get(f"http://{mon.host}:{mon.victoria_metrics_port}/api/v1/query",
                         params={"query": "up"}, timeout=cfg.timeouts.http_s)
    response.raise_for_status()
    rows = [{"job": m.get("job"), "instance": m.get("instance"), "cluster": m.get("cluster", ""),
             "broker_id": m.get("broker_id", ""), "up": int(float(r["value"][1]))}
            for r in response.json()["data"]["result"] for m in [r["metric"]]]
    frame = pd.DataFrame(rows, columns=["job", "instance", "cluster", "broker_id", "up"])
    return frame.sort_values(["job", "instance"]).reset_index(drop=True)


def wait_for_targets(cfg: LabConfig, timeout_s: float | None = None) -> pd.DataFrame:
    """Wait until VictoriaMetrics has scraped every configured target successfully; return
    the targets. Raises LabTimeoutError naming the ones still missing or down."""
    timeout_s = cfg.timeouts.settle_s if timeout_s is None else timeout_s
    expected = {target for job in scrape_config(cfg)["scrape_configs"]
                for group in job["static_configs"] for target in group["targets"]}
    frame = pd.DataFrame()

    def not_up() -> list[str]:
        nonlocal frame
        frame = targets_frame(cfg)
        return sorted(expected - set(frame.loc[frame["up"] == 1, "instance"]))

    wait_until(not_up, until=lambda missing: not missing, timeout_s=timeout_s, every_s=1.0,
               what="VictoriaMetrics to scrape every target successfully (state: the targets "
               "not up)", log=cfg.paths.log(VICTORIA_METRICS))
    return frame


def rules_frame(cfg: LabConfig) -> pd.DataFrame:
    """vmalert's alerting rules: group, name, expression, hold time and current state."""
    mon = cfg.monitoring
    response = httpx.get(f"http://{mon.host}:{mon.vmalert_port}/api/v1/rules",
                         timeout=cfg.timeouts.http_s)
    response.raise_for_status()
    rows = [{"group": group["name"], "alert": rule["name"], "for": f"{rule.get('duration', 0)} s",
             "expr": rule["query"], "state": rule.get("state", "")}
            for group in response.json()["data"]["groups"] for rule in group["rules"]
            if rule.get("type") == "alerting"]
    return pd.DataFrame(rows, columns=["group", "alert", "for", "expr", "state"])


def wait_for_alert(cfg: LabConfig, alert: str, status: str, since: str,
                   timeout_s: float = 90.0, **labels: str) -> dict[str, Any]:
    """The first notification of ``alert`` with ``status`` received after ``since`` (ISO
    time) whose labels include ``labels``; raises LabTimeoutError on timeout."""

    def first_match() -> dict[str, Any] | None:
        return next((note for note in notifications(cfg)
                     if note["received_at"] >= since and note["status"] == status
                     and note["labels"].get("alertname") == alert
                     and all(note["labels"].get(k) == v for k, v in labels.items())), None)

    return wait_until(first_match, until=lambda _note: True, timeout_s=timeout_s, every_s=1.0,
                      what=f"a {status} {alert} notification {labels or ''} after {since}",
                      log=[cfg.paths.log(VMALERT),
                           cfg.paths.log(ALERTMANAGER)])
