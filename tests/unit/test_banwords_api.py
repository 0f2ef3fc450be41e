"""The ban-words API without Kafka: 422 and 413 answers, all-or-nothing writes, 503, and
only a moderator writes (401 without the token, 403 with a wrong one, reads open)."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import KafkaError
from fastapi import FastAPI
from fastapi.testclient import TestClient
from kafka_fakes import FakeTransactionalProducer

from pokupai_lib.bans.app import RESOURCES, BanService, create_app
from pokupai_lib.bans.client import VALIDATION_CASES
from pokupai_lib.bans.topic import BanTopic
from pokupai_lib.bans.writer import BanWriter
from pokupai_lib.config import LabConfig
from pokupai_lib.errors import CredentialError
from pokupai_lib.runtime.moderator_token import ensure_moderator_token, read_moderator_token

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
def token(tmp_cfg: LabConfig) -> str:
    """The moderator token, written as the bootstrap writes it."""
    ensure_moderator_token(tmp_cfg)
    return read_moderator_token(tmp_cfg).get_secret_value()


@pytest.fixture
def app(tmp_cfg: LabConfig, service: BanService, token: str) -> FastAPI:
    """The app with ``service``; used outside ``with``, so its lifespan (Kafka) never runs."""
    app = create_app(tmp_cfg)
    app.state.bans = service
    return app


@pytest.fixture
def client(app: FastAPI, token: str) -> TestClient:
    """A moderator's client: every request carries the moderator token."""
    return TestClient(app, raise_server_exceptions=False,
                      headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def anonymous(app: FastAPI) -> TestClient:
    """A client without any credential."""
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


# Every write route of the API with a valid body: add, bulk-add and remove of each resource.
WRITES = [(f"/api/v1/{res.path}/{action}", body) for res in RESOURCES for action, body in (
    ("add", {res.field: "x1"}), ("bulk-add", {res.bulk_field: ["x1", "x2"]}),
    ("remove", {res.field: "x1"}))]
READS = [f"/api/v1/{res.path}" for res in RESOURCES] + ["/health"]


@pytest.mark.parametrize(("path", "body"), WRITES, ids=[path for path, _ in WRITES])
def test_a_write_without_the_token_is_401_saying_where_the_token_is(
        anonymous: TestClient, tmp_cfg: LabConfig, producer: FakeTransactionalProducer,
        path: str, body: dict[str, Any]) -> None:
    answer = anonymous.post(path, json=body)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["detail"] == ("writes need the moderator token: send Authorization: "
                                       f"Bearer $(cat {tmp_cfg.paths.moderator_token})")
    assert producer.calls == []


@pytest.mark.parametrize("header", [
    "Basic " + base64.b64encode(b"moderator:secret").decode(), "Token abc", "Bearer", "Bearer  ",
    "bearer-token"])
def test_a_header_that_is_not_a_bearer_token_is_401(
        anonymous: TestClient, token: str, producer: FakeTransactionalProducer,
        header: str) -> None:
    answer = anonymous.post("/api/v1/banned-words/add", json={"word": "бан"},
                            headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "as a Bearer token, not another scheme" in answer.json()["detail"]
    assert producer.calls == []


@pytest.mark.parametrize(("path", "body"), WRITES, ids=[path for path, _ in WRITES])
def test_a_wrong_token_is_403_and_writes_nothing(
        anonymous: TestClient, token: str, service: BanService,
        producer: FakeTransactionalProducer, path: str, body: dict[str, Any]) -> None:
    for wrong in (token[:-1], token + "x", token.upper(), "ё" * 43):
        answer = anonymous.post(path, json=body,
                                headers={b"Authorization": f"Bearer {wrong}".encode()})
        assert answer.status_code == 403
        assert "not the moderator token" in answer.json()["detail"]
    assert producer.calls == [] and len(service.bans) == 0


@pytest.mark.parametrize(("path", "body"), WRITES, ids=[path for path, _ in WRITES])
def test_the_moderator_token_writes(client: TestClient, path: str,
                                    body: dict[str, Any]) -> None:
    assert client.post(path, json=body).status_code == 200


def test_the_scheme_name_is_case_insensitive(anonymous: TestClient, token: str) -> None:
    answer = anonymous.post("/api/v1/banned-words/add", json={"word": "бан"},
                            headers={"Authorization": f"bearer {token}"})
    assert answer.status_code == 200


@pytest.mark.parametrize("path", READS)
def test_reads_need_no_token(anonymous: TestClient, path: str) -> None:
    assert anonymous.get(path).status_code == 200


def test_the_token_is_asked_for_before_the_body_is_validated(anonymous: TestClient) -> None:
    assert anonymous.post(f"{API}/add", json={"word": ""}).status_code == 401


def test_only_the_writes_carry_the_bearer_scheme_in_openapi(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    secured = {path for path, ops in paths.items() for op in ops.values() if op.get("security")}
    assert secured == {path for path, _ in WRITES}


def test_neither_the_token_nor_a_wrong_one_is_logged(
        anonymous: TestClient, client: TestClient, token: str,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client.post(f"{API}/add", json={"word": "бан"})
    anonymous.post(f"{API}/add", json={"word": "бан"},
                   headers={"Authorization": "Bearer guessed-token-guessed-token-123"})
    anonymous.post(f"{API}/add", json={"word": "бан"})
    assert token not in caplog.text and "guessed-token" not in caplog.text
    refusals = [r.getMessage() for r in caplog.records if r.name == "pokupai_lib.bans.moderator"]
    assert refusals == [
        f"refused POST {API}/add from testclient (403): not the moderator token",
        f"refused POST {API}/add from testclient (401): no Authorization header"]


def test_the_api_does_not_start_without_the_token(tmp_cfg: LabConfig) -> None:
    with pytest.raises(CredentialError, match=r"moderator\.token does not exist: run `make "
                                              r"bootstrap`"):
        create_app(tmp_cfg)
