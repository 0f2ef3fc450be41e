"""ksqlDB statements (docker profile) and the calls the lab makes through the ksql client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import LabError
from pokupai_lib.recommendations.ksqldb import (
    apply_statements,
    ksqldb_client,
    load_statements,
    recommendations,
    recommendations_query,
)

STATEMENTS = LabConfig().paths.infra / "ksqldb"


class RecordingClient:
    """Records the calls; answers like ksqlDB's REST API does."""

    def __init__(self, refuse: str | None = None, rows: list[dict[str, Any]] | None = None
                 ) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.refuse = refuse
        self.rows = rows or []

    def ksql(self, ksql_string: str, stream_properties: dict[str, str] | None = None) -> Any:
        self.calls.append((ksql_string, stream_properties))
        if self.refuse and self.refuse in ksql_string:
            raise RuntimeError("Line: 1, Col: 8: mismatched input")
        return [{"commandStatus": {"status": "SUCCESS", "message": "Stream created"}}]

    def query(self, query_string: str, encoding: str = "utf-8",
              stream_properties: dict[str, str] | None = None, use_http2: bool | None = None,
              parse: bool = False) -> Any:
        self.calls.append((query_string, {"properties": stream_properties, "parse": parse}))
        return iter(self.rows)


def test_the_statements_are_the_mvps_objects_in_dependency_order() -> None:
    statements = load_statements(STATEMENTS)
    created = [s.text.split()[5] for s in statements]  # CREATE STREAM|TABLE IF NOT EXISTS X
    assert created == ["SHOP_PRODUCTS_RAW", "CLIENT_SEARCHES_RAW", "SHOP_PRODUCTS_KEYED",
                       "PRODUCTS_BY_CATEGORY", "CLIENT_SEARCHES_KEYED", "SEARCHES_JOINED",
                       "SEARCHES_WITH_PRODUCTS"]
    assert all(s.text.endswith(";") and "--" not in s.text for s in statements)
    assert all("IF NOT EXISTS" in s.text for s in statements)  # applying twice is harmless


def test_the_outputs_keep_the_designs_topics_and_field_names() -> None:
    text = " ".join(s.text for s in load_statements(STATEMENTS))
    assert "KAFKA_TOPIC = 'products_by_category'" in text
    assert "KAFKA_TOPIC = 'SEARCHES_WITH_PRODUCTS'" in text
    for field in ("CLIENT_ID", "SEARCH_TERM", "MATCHED_CATEGORY", "PRODUCTS_IN_CATEGORY",
                  "TOTAL_PRODUCTS", "ALL_PRODUCTS_ARRAY"):
        assert field in text
    assert "PARTITION BY CLIENT_ID" in text
    assert "LCASE(TRIM(word_search))" in text and "LCASE(TRIM(category))" in text


def test_statements_are_applied_in_order_reading_from_the_earliest(tmp_path: Path) -> None:
    client = RecordingClient()
    messages = apply_statements(client, load_statements(STATEMENTS))
    assert [call[0] for call in client.calls] == [s.text for s in load_statements(STATEMENTS)]
    assert all(props == {"ksql.streams.auto.offset.reset": "earliest"}
               for _sql, props in client.calls)
    assert messages[0] == "01_sources.sql: Stream created"


def test_a_refused_statement_names_its_file() -> None:
    client = RecordingClient(refuse="PRODUCTS_BY_CATEGORY")
    with pytest.raises(LabError, match=r"02_products_by_category\.sql"):
        apply_statements(client, load_statements(STATEMENTS))


def test_an_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="no ksqlDB statements"):
        load_statements(tmp_path)


def test_the_push_query_is_the_mvps_with_the_id_quoted() -> None:
    assert recommendations_query("123", 10) == (
        "SELECT * FROM SEARCHES_WITH_PRODUCTS WHERE CLIENT_ID = '123' EMIT CHANGES LIMIT 10;")
    assert "'o''brien'" in recommendations_query("o'brien", 5)
    with pytest.raises(ValueError, match="empty"):
        recommendations_query("  ", 10)


def test_recommendations_run_the_push_query_parsed_from_the_earliest() -> None:
    row = {"CLIENT_ID": "123", "SEARCH_TERM": "Красота", "MATCHED_CATEGORY": "Красота"}
    client = RecordingClient(rows=[row])
    assert recommendations(client, "123", 3) == [row]
    sql, options = client.calls[0]
    assert sql.endswith("LIMIT 3;")
    assert options == {"properties": {"auto.offset.reset": "earliest"}, "parse": True}


def test_without_a_ksqldb_server_the_error_says_where_it_runs() -> None:
    with pytest.raises(LabError, match="docker profile"):
        ksqldb_client(LabConfig())
