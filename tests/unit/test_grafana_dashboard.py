"""The Grafana dashboard of the docker profile: well-formed, and it only asks for series the lab
exports (JMX names derived from the exporter rules of the job that serves them, the filter's and
the recommender's from their registries)."""

from __future__ import annotations

import functools
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from pokupai_lib.config import LabConfig
from pokupai_lib.ingest.stats import FilterStats
from pokupai_lib.monitoring.stack import scrape_config
from pokupai_lib.recommendations.stats import RecommenderStats
from pokupai_lib.runtime.jvm import CONNECT_METRICS_RULES

INFRA = LabConfig().paths.infra
DASHBOARD = INFRA / "grafana" / "pokupai-platform.json"
# The exporter rules each JMX job runs with (brokers: jvm_command's default).
JOB_RULES = {"kafka": INFRA / "monitoring" / "jmx-kafka-rules.yaml",
             "kafka-connect": INFRA / "monitoring" / CONNECT_METRICS_RULES,
             "mirror-maker": INFRA / "monitoring" / CONNECT_METRICS_RULES}
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
# client_java 1.x strips these from every name before it adds its own (_total to counters).
_RESERVED_SUFFIXES = r"(?:_total|_created|_bucket|_info)+$"


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


def _capture_groups(pattern: str) -> list[str]:
    """The bodies of ``pattern``'s capturing groups in number order, nested ones included."""
    bodies: dict[int, str] = {}
    opened: list[int | None] = []
    for token in re.finditer(r"\\.|\[(?:\\.|[^\]\\])*\]|\((\?)?|\)", pattern):
        if token[0].startswith("("):
            opened.append(None if token[1] else token.end())
        elif token[0] == ")" and (start := opened.pop()) is not None:
            bodies[start] = pattern[start:token.start()]
    return [bodies[start] for start in sorted(bodies)]


def _words(regex: str) -> set[str] | None:
    """Every string ``regex`` matches when it is made only of names, ``|`` and ``(?:...)``
    (as the rules' attribute lists are), else None. Each innermost group is replaced by each
    of its alternatives in turn, which keeps the language since there are no quantifiers."""
    if not re.fullmatch(r"(?:[\w|-]|\(\?:|\))*", regex):
        return None
    pending, words = [regex], set[str]()
    while pending:
        text = pending.pop()
        if inner := re.search(r"\(\?:([\w|-]*)\)", text):
            pending += [text[:inner.start()] + word + text[inner.end():]
                        for word in inner[1].split("|")]
        else:
            words.update(text.split("|"))
    return words


@functools.cache
def _jmx_name_patterns(rules_file: Path) -> tuple[re.Pattern[str], ...]:
    """One regex per name a rule can emit: ``$n`` becomes each of the n-th group's names when
    that group lists names only, else ``\\w+``; then the agent's own suffix handling."""
    config = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
    lower = config.get("lowercaseOutputName", False)

    def sanitized(text: str) -> str:  # what the exporter does to a name (after lowercasing)
        return re.sub(r"[^\w:]", "_", text.lower() if lower else text)

    patterns = []
    for rule in config["rules"]:
        groups = _capture_groups(rule["pattern"])
        assert len(groups) == re.compile(rule["pattern"]).groups, f"groups misread: {rule}"
        # Per part of the name, what it can be; "\0" stands for any word.
        choices: list[list[str]] = []
        for i, part in enumerate(re.split(r"\$(\d+)", rule["name"])):
            words = [part] if i % 2 == 0 else _words(groups[int(part) - 1]) or ["\0"]
            choices.append([w if w == "\0" else sanitized(w) for w in words])
        for combination in itertools.product(*choices):
            name = re.sub(_RESERVED_SUFFIXES, "", "".join(combination))
            name += "_total" if rule.get("type") == "COUNTER" else ""
            patterns.append(re.compile(r"\w+".join(map(re.escape, name.split("\0")))))
    return tuple(patterns)


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


def _from_rules(name: str, job: str) -> bool:
    """Whether ``job``'s exporter serves ``name`` (by its rules, or as scrape/agent series)."""
    return (name in SERVER_SERIES | AGENT_SERIES
            or any(p.fullmatch(name) for p in _jmx_name_patterns(JOB_RULES[job])))


def _produced(name: str) -> bool:
    return name in _app_series() or any(_from_rules(name, job) for job in JOB_RULES)


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


@pytest.mark.parametrize(("job", "name", "produced"), [
    ("kafka", "kafka_server_brokertopicmetrics_bytesinpersec_total", True),
    ("kafka", "kafka_server_brokertopicmetrics_bytesinpersec", False),  # a counter: _total added
    ("kafka", "kafka_server_brokertopicmetrics_replicationbytesinpersec_total", False),
    ("kafka", "kafka_server_replicamanager_underreplicatedpartitions", True),
    ("kafka", "kafka_raft_current_leader", True),
    ("kafka", "kafka_raft_current_state", False),
    ("kafka", "kafka_connect_connector_tasks", False),
    ("kafka-connect", "kafka_connect_connector_tasks", True),
    ("kafka-connect", "kafka_connect_connect_worker_metrics_connector_count", False),
    ("kafka-connect", "kafka_connect_worker_connector_count", True),
    ("kafka-connect", "kafka_connect_sink_task_sink_record_send_total", True),
    ("kafka-connect", "kafka_connect_sink_task_sink_record_send", False),
    ("mirror-maker", "kafka_server_replicamanager_underreplicatedpartitions", False),
    ("mirror-maker", "kafka_connect_source_task_source_record_write_total", True),
    # A gauge whose attribute ends in -total loses it; a counter's is not doubled.
    ("mirror-maker", "kafka_connect_worker_completed_rebalances", True),
    ("mirror-maker", "kafka_connect_worker_completed_rebalances_total", False),
    ("mirror-maker", "kafka_connect_worker_task_startup_failure_total", True),
    ("mirror-maker", "kafka_connect_worker_task_startup_failure_total_total", False),
    ("mirror-maker", "jvm_memory_used_bytes", True),
])
def test_jmx_names_follow_the_rules(job: str, name: str, produced: bool) -> None:
    assert _from_rules(name, job) is produced


def test_every_metric_is_one_the_lab_produces() -> None:
    used = set().union(*map(metric_names, _exprs()))
    assert {n for n in used if not _produced(n)} == set()


def test_jmx_metrics_come_from_their_jobs_rules() -> None:
    for expr in _exprs():
        for name, matchers in re.findall(r"\b([a-zA-Z_:][\w:]*)\s*\{([^{}]*)\}", expr):
            for op, value in re.findall(r'\bjob\s*(=~|=)\s*"([^"]*)"', matchers):
                jobs = value.split("|") if op == "=~" else [value]
                assert all(_from_rules(name, job) for job in jobs if job in JOB_RULES), expr


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


def test_connectors_named_are_the_labs() -> None:
    named = {value for expr in _exprs()
             for value in re.findall(r'\bconnector\s*=\s*"([^"]*)"', expr)}
    assert named <= {LabConfig().connect.sink_name}


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
