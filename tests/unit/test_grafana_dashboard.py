"""The Grafana dashboard of the docker profile: well-formed, and it only asks for series the lab
exports (JMX names derived from the exporter's rules, the filter's and the recommender's from
their registries)."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from pokupai_lib.config import LabConfig
from pokupai_lib.filter_stats import FilterStats
from pokupai_lib.monitoring import scrape_config
from pokupai_lib.recommender_stats import RecommenderStats

INFRA = LabConfig().paths.infra
DASHBOARD = INFRA / "grafana" / "pokupai-platform.json"
JMX_RULES = INFRA / "monitoring" / "jmx-kafka-rules.yaml"
ALERT_RULES = INFRA / "monitoring" / "vmalert-rules.yml"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

# Added by VictoriaMetrics (up) and vmalert (ALERTS) to every scrape / rule evaluation.
SERVER_SERIES = {"up", "ALERTS", "ALERTS_FOR_STATE"}
# What the JMX exporter javaagent 1.0.1 always adds (a subset of its JvmMetrics, checked
# against its output); the rules file does not name them.
AGENT_SERIES = {"jvm_memory_used_bytes", "jvm_memory_max_bytes", "jvm_memory_committed_bytes",
                "jvm_gc_collection_seconds_count", "jvm_gc_collection_seconds_sum",
                "jvm_threads_current", "process_cpu_seconds_total",
                "process_resident_memory_bytes", "process_open_fds",
                "process_start_time_seconds"}
# Labels VictoriaMetrics adds to every series of a target (scrape_config's target labels).
TARGET_LABELS = {"job", "instance", "cluster"}
_SAMPLE_SUFFIXES = {"counter": ("_total",), "gauge": ("",),
                    "histogram": ("_bucket", "_sum", "_count")}
_PROMQL_WORDS = {"and", "or", "unless", "bool", "offset"}


def _dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def _panels() -> list[dict[str, Any]]:
    top = _dashboard()["panels"]
    return [*top, *(inner for panel in top for inner in panel.get("panels", []))]


def _exprs() -> list[str]:
    return [t["expr"] for p in _panels() for t in p.get("targets", [])]


def _without_strings(expr: str) -> str:
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, labels or keywords)."""
    text = _without_strings(expr)
    text = re.sub(r"\{[^{}]*\}|\[[^\]]*\]|\$\w+", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    return set(re.findall(r"\b[a-zA-Z_:][\w:]*+(?!\s*\()", text)) - _PROMQL_WORDS


def _jmx_name_patterns() -> list[re.Pattern[str]]:
    """One regex per rule for the names it can emit: ``$n`` becomes the n-th group's
    alternatives when that group is a list of literal names, else ``\\w+``."""
    config = yaml.safe_load(JMX_RULES.read_text(encoding="utf-8"))
    lower = config.get("lowercaseOutputName", False)

    def sanitized(text: str) -> str:  # what the exporter does to a name (after lowercasing)
        return re.sub(r"[^\w:]", "_", text.lower() if lower else text)

    patterns = []
    for rule in config["rules"]:
        groups = re.findall(r"(?<!\\)\((?!\?)((?:[^()\\]|\\.)*)\)", rule["pattern"])
        assert len(groups) == re.compile(rule["pattern"]).groups, f"nested groups: {rule}"
        parts = []
        for i, part in enumerate(re.split(r"\$(\d+)", rule["name"])):
            if i % 2 == 0:
                parts.append(re.escape(sanitized(part)))
            elif re.fullmatch(r"[\w|-]+", body := groups[int(part) - 1]):
                parts.append("(?:" + "|".join(map(sanitized, body.split("|"))) + ")")
            else:
                parts.append(r"\w+")
        # client_java 1.x (inside the agent) names every counter ..._total.
        suffix = "_total" if rule.get("type") == "COUNTER" else ""
        patterns.append(re.compile("".join(parts) + suffix))
    return patterns


def _app_series() -> dict[str, set[str]]:
    """Series name -> its label names, for the filter's and the recommender's metrics."""
    series = {}
    for stats in (FilterStats(), RecommenderStats()):
        for metric in vars(stats).values():
            if not isinstance(metric, MetricWrapperBase):
                continue
            # prometheus_client has no public accessor for a metric's label names.
            labels = set(metric._labelnames)
            for family in metric.describe():
                for suffix in _SAMPLE_SUFFIXES[family.type]:
                    series[family.name + suffix] = labels | (
                        {"le"} if suffix == "_bucket" else set())
    return series


def _produced(name: str, jmx: list[re.Pattern[str]]) -> bool:
    return (name in SERVER_SERIES | AGENT_SERIES | _app_series().keys()
            or any(p.fullmatch(name) for p in jmx))


def test_dashboard_identity() -> None:
    dash = _dashboard()
    assert (dash["uid"], dash["title"]) == ("pokupai-platform", "Покупай выгодно — платформа")
    assert (dash["schemaVersion"], dash["refresh"], dash["time"]["from"]) == (39, "5s", "now-30m")
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert (variables["datasource"]["type"], variables["datasource"]["query"]) == (
        "datasource", "prometheus")
    assert variables["cluster"]["datasource"] == DATASOURCE
    assert variables["cluster"]["definition"] == 'label_values(up{job="kafka"}, cluster)'


def test_panel_ids_are_unique() -> None:
    ids = [p["id"] for p in _panels()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_panels_do_not_overlap() -> None:
    boxes = {p["id"]: p["gridPos"] for p in _dashboard()["panels"]}
    assert all(b["x"] + b["w"] <= 24 for b in boxes.values())
    for (a, pa), (b, pb) in itertools.combinations(boxes.items(), 2):
        apart = (pa["x"] + pa["w"] <= pb["x"] or pb["x"] + pb["w"] <= pa["x"]
                 or pa["y"] + pa["h"] <= pb["y"] or pb["y"] + pb["h"] <= pa["y"])
        assert apart, f"panels {a} and {b} overlap"


def test_every_query_uses_the_datasource_variable() -> None:
    for panel in _panels():
        if panel["type"] == "row":
            assert not panel.get("targets"), panel["title"]
            continue
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        assert all(t.get("datasource", DATASOURCE) == DATASOURCE for t in panel["targets"])


@pytest.mark.parametrize("expr", _exprs())
def test_brackets_are_balanced(expr: str) -> None:
    stack: list[str] = []
    for char in _without_strings(expr):
        if char in "([{":
            stack.append({"(": ")", "[": "]", "{": "}"}[char])
        elif char in ")]}":
            assert stack and stack.pop() == char, expr
    assert not stack, expr


def test_metric_names_reads_promql() -> None:
    expr = ('histogram_quantile(0.99, sum by (le) (rate(a_bucket{job="x", le!="+Inf"}'
            '[$__rate_interval]))) / on (job) group_left (le) b_total and up{job=~"(y|z)"}')
    assert metric_names(expr) == {"a_bucket", "b_total", "up"}


@pytest.mark.parametrize(("name", "produced"), [
    ("kafka_server_brokertopicmetrics_bytesinpersec_total", True),
    ("kafka_server_brokertopicmetrics_bytesinpersec", False),  # a counter: _total is added
    ("kafka_server_brokertopicmetrics_replicationbytesinpersec_total", False),
    ("kafka_server_replicamanager_underreplicatedpartitions", True),
    ("kafka_raft_current_leader", True),
    ("kafka_raft_current_state", False),
    ("kafka_connect_connect_worker_metrics_connector_count", False),
])
def test_jmx_names_follow_the_rules(name: str, produced: bool) -> None:
    assert _produced(name, _jmx_name_patterns()) is produced


def test_every_metric_is_one_the_lab_produces() -> None:
    jmx = _jmx_name_patterns()
    used = set().union(*map(metric_names, _exprs()))
    assert {n for n in used if not _produced(n, jmx)} == set()


def test_jobs_and_clusters_are_scraped() -> None:
    scraped = scrape_config(LabConfig())["scrape_configs"]
    known = {"job": {job["job_name"] for job in scraped},
             "cluster": {t["labels"]["cluster"] for job in scraped
                         for t in job["static_configs"]}}
    for expr in _exprs():
        for label, op, value in re.findall(r'\b(job|cluster)\s*(=~|=)\s*"([^"]*)"', expr):
            if value.startswith("$"):
                continue
            values = value.split("|") if op == "=~" else [value]
            assert set(values) <= known[label], expr


def test_app_metrics_have_the_labels_used() -> None:
    app = _app_series()
    for expr in _exprs():
        selected = metric_names(expr) & app.keys()
        if not selected:
            continue
        text = _without_strings(expr)
        used = {label.strip() for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", text)
                for label in group.split(",")}
        used |= {label for matchers in re.findall(r"\{([^{}]*)\}", text)
                 for label in re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers)}
        assert used <= TARGET_LABELS.union(*(app[name] for name in selected)), expr


def test_alerts_named_exist() -> None:
    rules = yaml.safe_load(ALERT_RULES.read_text(encoding="utf-8"))
    alerts = {r["alert"] for group in rules["groups"] for r in group["rules"] if "alert" in r}
    named = {name for expr in _exprs()
             for value in re.findall(r'alertname\s*=~?\s*"([^"]*)"', expr)
             for name in value.split("|")}
    named |= {name for panel in _panels()
              for name in re.findall(r"`([A-Z][A-Za-z0-9]+)`", panel.get("description", ""))}
    assert named, "no panel names an alert"
    assert named - alerts == set()
