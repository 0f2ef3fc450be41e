from __future__ import annotations

import json
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest

from pokupai_lib.bans.rules import BanList
from pokupai_lib.bans.topic import BanTopic
from pokupai_lib.config import LabConfig
from pokupai_lib.errors import LabTimeoutError
from pokupai_lib.ingest import checks
from pokupai_lib.ingest.stats import FilterStats
from pokupai_lib.runtime.stats_http import StatsServer, serve_stats


def test_snapshot_counts_and_percentiles() -> None:
    stats = FilterStats()
    stats.record_processed(10)
    stats.record_passed(7)
    stats.record_banned("word", "бан")
    stats.record_banned("sku", "A-1")
    stats.record_dead_letter("not-avro")
    stats.record_latencies([ms / 1000 for ms in range(1, 101)])
    stats.set_gauges(lag=5, ban_entries=4)
    snap = stats.snapshot()
    assert (snap["processed"], snap["passed"], snap["lag"], snap["ban_entries"]) == (10, 7, 5, 4)
    assert snap["banned_by_rule"] == {"word": 1, "sku": 1}
    assert snap["dead_lettered"] == {"not-avro": 1}
    assert snap["latency_ms"] == {"p50": 50.0, "p99": 99.0}


def test_http_views() -> None:
    stats = FilterStats()
    stats.record_processed(3)
    server = serve_stats(stats, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        try:
            urllib.request.urlopen(f"{base}/health")
            raise AssertionError("health must be 503 before the filter is ready")
        except urllib.error.HTTPError as exc:
            assert exc.code == 503
        stats.ready = True
        assert json.load(urllib.request.urlopen(f"{base}/health"))["status"] == "ok"
        assert json.load(urllib.request.urlopen(f"{base}/stats"))["processed"] == 3
        metrics = urllib.request.urlopen(f"{base}/metrics").read().decode()
        assert "filter_processed_total 3.0" in metrics
    finally:
        server.shutdown()


@pytest.mark.parametrize("error", [BrokenPipeError(32, "Broken pipe"),
                                   ConnectionResetError(104, "Connection reset by peer")])
def test_a_client_that_hung_up_leaves_no_traceback(error: OSError,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    server = StatsServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    try:
        try:
            raise error
        except OSError:
            server.handle_error(None, ("127.0.0.1", 1))
        assert capsys.readouterr().err == ""
        try:
            raise ValueError("a bug in a view")
        except ValueError:
            server.handle_error(None, ("127.0.0.1", 1))
        assert "ValueError: a bug in a view" in capsys.readouterr().err
    finally:
        server.server_close()


def _topic_holds(monkeypatch: pytest.MonkeyPatch, *terms: str) -> None:
    def load(_self: BanTopic, bans: BanList, timeout_s: float = 30.0) -> int:
        for term in terms:
            bans.add(term)
        return len(terms)

    monkeypatch.setattr(BanTopic, "load", load)


def _stats_answers(monkeypatch: pytest.MonkeyPatch, *answers: int | Exception) -> None:
    queue = list(answers)

    def filter_stats(_cfg: LabConfig) -> dict[str, Any]:
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return {"ready": True, "ban_entries": answer}

    monkeypatch.setattr(checks, "filter_stats", filter_stats)


def test_the_ban_wait_ends_when_the_filter_holds_what_the_topic_holds(
        tmp_cfg: LabConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    _topic_holds(monkeypatch, "бан", "запрет")
    _stats_answers(monkeypatch, httpx.ConnectError("restarting"), 1, 2)
    assert checks.wait_for_filter_bans(tmp_cfg) == 2


def test_the_ban_wait_times_out_naming_the_count_and_the_filter_log(
        tmp_cfg: LabConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    _topic_holds(monkeypatch, "бан")
    _stats_answers(monkeypatch, 0)
    with pytest.raises(LabTimeoutError, match=r"hold the 1 entries.*'ban_entries': 0.*filter\.log"):
        checks.wait_for_filter_bans(tmp_cfg, timeout_s=0.3)
