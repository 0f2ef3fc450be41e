"""The ban-words API without Kafka: 422 and 413 answers, all-or-nothing writes, 503."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaError
from fastapi.testclient import TestClient
from kafka_fakes import FakeTransactionalProducer

from pokupai_lib.bans.app import BanService, create_app
from pokupai_lib.bans.client import VALIDATION_CASES
from pokupai_lib.bans.topic import BanTopic
from pokupai_lib.bans.writer import BanWriter
from pokupai_lib.config import LabConfig

API = "/api/v1/banned-words"
ABORTABLE = KafkaError(KafkaError.NOT_ENOUGH_REPLICAS, txn_requires_abort=True)


@pytest.fixture
def producer() -> FakeTransactionalProducer:
    return FakeTransactionalProducer()


@pytest.fixture
def service(tmp_cfg: LabConfig, producer: FakeTransactionalProducer) -> BanService:
    """A service whose writer uses the fake producer; never started, so nothing connects."""
    writer = BanWriter(tmp_cfg.topics.ban_words, lambda: producer, timeout_s=0.2)
    return BanService(tmp_cfg, writer=writer, topic=BanTopic(tmp_cfg))


@pytest.fixture
def client(tmp_cfg: LabConfig, service: BanService) -> TestClient:
    """The app with ``service``; used outside ``with``, so its lifespan (Kafka) never runs."""
    app = create_app(tmp_cfg)
    app.state.bans = service
    return TestClient(app, raise_server_exceptions=False)


def _refusal(client: TestClient, path: str, body: object) -> tuple[int, list[str]]:
    response = client.post(f"{API}/{path}", json=body)
    detail = response.json()["detail"]
    return response.status_code, [f"{d['field']}: {d['error']}" for d in detail]


@pytest.mark.parametrize(("term", "why"), [
    ("!!!", "has no letters or digits"),
    ("- _ -", "has no letters or digits"),
    ("\u0301", "has no letters or digits"),
    ("ба\x07н", "control character U+0007 (character 3)"),
    ("ба\x7fн", "control character U+007F"),
    ("ба\x85н", "control character U+0085"),
    ("\x9fбан", "control character U+009F (character 1)"),
    ("\u202eнаб", "bidirectional control U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("бан\u2066", "bidirectional control U+2066"),
    ("б\u061cан", "bidirectional control U+061C ARABIC LETTER MARK"),
])
def test_a_bad_term_is_422_saying_what_is_wrong(client: TestClient, term: str,
                                                why: str) -> None:
    status, problems = _refusal(client, "add", {"word": term})
    assert status == 422
    assert len(problems) == 1 and problems[0].startswith("word: ") and why in problems[0]


@pytest.mark.parametrize("case", list(VALIDATION_CASES))
def test_every_case_the_notebook_shows_is_422(client: TestClient, case: str) -> None:
    path, body = VALIDATION_CASES[case]
    assert client.post(f"{API}/{path}", json=body).status_code == 422


def test_a_bulk_add_names_each_bad_item(client: TestClient,
                                        producer: FakeTransactionalProducer) -> None:
    status, problems = _refusal(client, "bulk-add", {"words": ["хорошо", "???", "x\u200fy"]})
    assert status == 422
    assert [p.split(":")[0] for p in problems] == ["words[1]", "words[2]"]
    assert producer.calls == []  # nothing written, not even the good item


def test_product_ids_and_skus_need_a_letter_or_digit(client: TestClient) -> None:
    answer = client.post("/api/v1/banned-skus/add", json={"sku": "--"})
    assert answer.status_code == 422
    assert "has no letters or digits" in answer.json()["detail"][0]["error"]
    assert client.post("/api/v1/banned-products/add",
                       json={"product_id": "P-1"}).status_code == 200


def test_a_body_over_the_limit_is_413_by_its_content_length(client: TestClient,
                                                             tmp_cfg: LabConfig) -> None:
    body = b" " * (tmp_cfg.ban_api.max_body_bytes + 1)
    answer = client.post(f"{API}/add", content=body,
                         headers={"content-type": "application/json"})
    assert answer.status_code == 413


def test_a_chunked_body_over_the_limit_is_413_by_the_bytes_read(client: TestClient,
                                                                tmp_cfg: LabConfig) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"words": ['
        for _ in range(tmp_cfg.ban_api.max_body_bytes // 10_000 + 1):
            yield b'"' + b"a" * 10_000 + b'",'

    answer = client.post(f"{API}/bulk-add", content=chunks(),
                         headers={"content-type": "application/json"})
    assert answer.request.headers.get("transfer-encoding") == "chunked"
    assert answer.status_code == 413


def test_a_bulk_add_is_one_transaction_and_the_view_changes_after_it(
        client: TestClient, service: BanService, producer: FakeTransactionalProducer) -> None:
    answer = client.post(f"{API}/bulk-add", json={"words": ["Ёлка", "ёлка", "Подделка"]})
    assert answer.status_code == 200
    assert answer.json() == {"added": ["елка", "подделка"], "already_present": ["ёлка"],
                             "total": 2}
    assert producer.calls == ["init", "begin", "commit"]
    assert [key for key, _ in producer.committed[0]] == ["елка".encode(), "подделка".encode()]
    assert json.loads(producer.committed[0][0][1] or b"")["source"] == "api bulk-add"
    assert service.bans.terms("word") == ["елка", "подделка"]


def test_a_failed_bulk_add_is_503_and_changes_nothing(
        client: TestClient, service: BanService, producer: FakeTransactionalProducer) -> None:
    producer.fail["commit"] = [ABORTABLE]
    answer = client.post(f"{API}/bulk-add", json={"words": ["один", "два"]})
    assert answer.status_code == 503
    assert "nothing was applied" in answer.json()["detail"]
    assert producer.committed == [] and producer.calls[-1] == "abort"
    assert service.bans.terms("word") == []


def test_remove_writes_the_tombstone_before_it_changes_the_view(
        client: TestClient, service: BanService, producer: FakeTransactionalProducer) -> None:
    service.bans.add("бан")
    producer.fail["commit"] = [ABORTABLE]
    assert client.post(f"{API}/remove", json={"word": "БАН"}).status_code == 503
    assert service.bans.terms("word") == ["бан"]
    answer = client.post(f"{API}/remove", json={"word": "БАН"})
    assert answer.json() == {"removed": True, "term": "БАН", "total": 0}
    assert producer.committed == [[("бан".encode(), None)]]
    assert service.bans.terms("word") == []


def test_removing_what_is_not_there_writes_nothing(
        client: TestClient, producer: FakeTransactionalProducer) -> None:
    answer = client.post(f"{API}/remove", json={"word": "нет"})
    assert answer.json()["removed"] is False
    assert producer.calls == []


def test_health_fails_once_the_follower_died(client: TestClient, service: BanService) -> None:
    assert client.get("/health").status_code == 200
    service.failure = RuntimeError("boom")
    answer = client.get("/health")
    assert answer.status_code == 503 and "follower died" in answer.json()["detail"]
