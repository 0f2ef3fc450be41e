"""Issue 3 against the real stack: registry, ban-words API, publisher and the filter."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from lab_fixture import Lab

from pokupai_lib.bans.checks import validation_answers
from pokupai_lib.bans.client import BanApiClient
from pokupai_lib.config import LabConfig
from pokupai_lib.ingest.catalog import generate_catalog, write_shop_files
from pokupai_lib.ingest.checks import (
    dead_letters,
    filter_stats,
    prepare_shop_files,
    send_bad_records,
    wait_for_filter,
    wait_for_filter_bans,
)
from pokupai_lib.ingest.outage_checks import filter_across, kill_filter_worker
from pokupai_lib.ingest.publisher import publish_files
from pokupai_lib.kafka.topic_reader import end_offsets, read_range
from pokupai_lib.runtime.services import banwords_api_spec
from pokupai_lib.schema.registration import product_subject, register_product_schema
from pokupai_lib.schema.registry import registry_client, registry_spec


@pytest.fixture
def api(lab: Lab) -> Iterator[BanApiClient]:
    """A client of the ban-words API, closed after the test."""
    client = BanApiClient(lab.cfg)
    yield client
    client.http.close()


def _first_id() -> int:
    return random.randint(10_000_000, 90_000_000)  # noqa: S311 - test data


def _clear_since(cfg: LabConfig, start: dict[int, int]) -> list[tuple[str, Any]]:
    """(product_id, parsed value or None for a tombstone) written to shop-clear since start."""
    return [(r.key.decode(), json.loads(r.value) if r.value else None)
            for r in read_range(cfg, cfg.topics.shop_clear, start) if r.key]


def _publish(cfg: LabConfig, products: list[dict[str, Any]], tag: str) -> None:
    paths = write_shop_files(products, cfg.paths.state / "shops" / f"test-{tag}")
    result = publish_files(cfg, paths, progress=False)
    assert (result.sent, result.skipped, result.failed) == (len(products), 0, 0), result.problems


def test_schema_id_is_stable_across_a_registry_restart(lab: Lab) -> None:
    client = registry_client(lab.cfg)
    subject = product_subject(lab.cfg)
    before = register_product_schema(client, subject)
    versions = client.get_versions(subject)
    lab.supervisor.restart(registry_spec(lab.cfg))
    after_client = registry_client(lab.cfg)
    assert register_product_schema(after_client, subject) == before
    assert after_client.get_versions(subject) == versions


def test_publisher_skips_invalid_records_with_file_line_and_reason(lab: Lab) -> None:
    _catalog, paths = prepare_shop_files(lab.cfg, 50, seed=3, first_id=_first_id())
    result = publish_files(lab.cfg, paths, progress=False)
    assert (result.sent, result.skipped, result.failed) == (50, 2, 0)
    where = [(p.file, p.line) for p in result.problems]
    assert where == [("store_bad.jsonl", 1), ("store_bad.jsonl", 2)]
    assert "not JSON" in result.problems[0].reason
    assert "name: missing required field" in result.problems[1].reason


def test_api_answers_422_naming_the_item_and_why(api: BanApiClient) -> None:
    answers = validation_answers(api).set_index("case")
    assert (answers["status"] == 422).all()
    assert answers.loc["bad item in bulk", "answer"].startswith("words[1]:")
    assert "101 characters" in answers.loc["over 100 characters", "answer"]
    assert "whitespace" in answers.loc["whitespace only", "answer"]
    assert "valid string" in answers.loc["not a string", "answer"]
    assert "at most 1000" in answers.loc["too many items", "answer"]


def test_api_add_is_idempotent_and_survives_a_restart(lab: Lab, api: BanApiClient) -> None:
    word = f"проверка{random.randint(0, 10**6)}"  # noqa: S311 - test data
    first, second = api.add(word), api.add(word.upper())
    assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
    assert first.json()["added"] == [word]
    assert second.json()["already_present"] == [word.upper()]
    supervisor = lab.supervisor
    supervisor.restart(banwords_api_spec(lab.cfg))
    assert word in api.words()
    assert api.remove(word).json()["removed"] is True
    supervisor.restart(banwords_api_spec(lab.cfg))
    assert word not in api.words()


def test_filter_is_exactly_once_across_kill_9_and_its_keeper_restarts_it(lab: Lab) -> None:
    report = filter_across(lab.cfg, kill_filter_worker, "kill -9",
                           first_id=_first_id())
    assert report.mid_stream, report.summary()
    assert report.missing == set() and report.repeated == {}, report.summary()
    assert report.tombstoned == report.banned
    assert report.pid_after not in (None, report.pid_before) and report.restarts == 1


def test_three_kinds_of_bad_records_are_dead_lettered(lab: Lab) -> None:
    start = end_offsets(lab.cfg, lab.cfg.topics.shop_dlq)
    keys = send_bad_records(lab.cfg)
    wait_for_filter(lab.cfg)
    letters = dead_letters(lab.cfg, start).set_index("key")
    assert set(letters.index) == set(keys)
    assert letters.loc["dlq-garbage", "error_type"] == "not-avro"
    assert letters.loc["dlq-unknown-schema", "error_type"] == "unknown-schema"
    assert letters.loc["dlq-missing-fields", "error_type"] == "invalid-product"
    assert "name: missing required field" in letters.loc["dlq-missing-fields", "error_message"]
    assert filter_stats(lab.cfg)["ready"] is True


def _variant(base: dict[str, Any], number: int, **changes: Any) -> dict[str, Any]:
    product = copy.deepcopy(base)
    product["product_id"] = str(number)
    product["sku"] = f"TST-{number}"
    for path, value in changes.items():
        target = product
        *parents, leaf = path.split("__")
        for parent in parents:
            target = target[parent]
        target[leaf] = value
    return product


def test_ban_rules_end_to_end_and_live_updates(lab: Lab, api: BanApiClient) -> None:
    wait_for_filter(lab.cfg)
    base = generate_catalog(1, seed=5, banned_share=0.0).products[0]
    n = _first_id()
    word, phrase = f"запрет{n}", f"плохая фраза{n}"
    banned_id, banned_sku = str(n + 90), f"TST-{n + 91}"
    products = {
        "upper case in name": (_variant(base, n, name=f"Товар {word.upper()}"), False),
        "ё for е in a tag": (_variant(base, n + 1, tags=[word.replace("е", "ё")]), False),
        "spec value": (_variant(base, n + 2, specifications={"цвет": f"({word})"}), False),
        "inside a longer word": (_variant(base, n + 3, description=f"сверх{word}ный"), True),
        "phrase with punctuation": (_variant(base, n + 4,
                                             description=f"Это ПЛОХАЯ, фраза{n}!"), False),
        "phrase split by a word": (_variant(base, n + 5,
                                            description=f"плохая хорошая фраза{n}"), True),
        "banned product id": (_variant(base, n + 90), False),
        "banned sku": (_variant(base, n + 91), False),
        "spec key only": (_variant(base, n + 6, specifications={word: "нет"}), True),
    }
    try:
        api.add(word)
        api.add(phrase)
        api.add(banned_id, "banned-products", "product_id")
        api.add(banned_sku, "banned-skus", "sku")
        wait_for_filter_bans(lab.cfg)
        start = end_offsets(lab.cfg, lab.cfg.topics.shop_clear)
        _publish(lab.cfg, [p for p, _allowed in products.values()], "rules")
        wait_for_filter(lab.cfg)
        passed = {pid for pid, value in _clear_since(lab.cfg, start) if value is not None}
        verdicts = {case: product["product_id"] in passed
                    for case, (product, _allowed) in products.items()}
        assert verdicts == {case: allowed for case, (_p, allowed) in products.items()}
    finally:
        api.remove(word)
        api.remove(phrase)
        api.remove(banned_id, "banned-products", "product_id")
        api.remove(banned_sku, "banned-skus", "sku")
