"""The MVP's recommendations in ksqlDB, for the docker profile (the local profile uses Quix).

The statements live in ``infra/ksqldb/NN_*.sql`` and are applied in file order through the
``ksql`` Python client (the ``ksql-python-ng`` distribution); every one is ``IF NOT EXISTS``,
so applying them twice changes nothing. The MVP's push query reads a client's recommendations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import LabError
from pokupai_lib.runtime.rest_validation import bounded_text

__all__ = ["KsqlClient", "Statement", "apply_statements", "ksqldb_client", "load_statements",
           "recommendations", "recommendations_query"]

_COMMENT = re.compile(r"--[^\n]*")
_client_id = bounded_text(64)


class KsqlClient(Protocol):
    """What the lab uses of ``ksql.KSQLAPI``."""

    def ksql(self, ksql_string: str, stream_properties: dict[str, str] | None = None) -> Any: ...

    def query(self, query_string: str, encoding: str = "utf-8",
              stream_properties: dict[str, str] | None = None, use_http2: bool | None = None,
              parse: bool = False) -> Any: ...


@dataclass(frozen=True)
class Statement:
    """One statement and the file it came from."""

    file: str
    text: str


def load_statements(directory: Path) -> list[Statement]:
    """Every statement of ``directory``'s ``*.sql`` files, in file order, comments removed.

    Raises LabError when the directory holds no statement at all.
    """
    statements = []
    for path in sorted(directory.glob("*.sql")):
        body = _COMMENT.sub("", path.read_text(encoding="utf-8"))
        statements += [Statement(path.name, f"{part.strip()};") for part in body.split(";")
                       if part.strip()]
    if not statements:
        raise LabError(f"no ksqlDB statements in {directory}")
    return statements


def apply_statements(client: KsqlClient, statements: list[Statement]) -> list[str]:
    """Run each statement in order; return ksqlDB's status message of each.

    Raises LabError naming the file and statement that ksqlDB refused.
    """
    messages = []
    for statement in statements:
        try:
            answer = client.ksql(statement.text,
                                 stream_properties={"ksql.streams.auto.offset.reset": "earliest"})
        except Exception as exc:  # the client raises its own and HTTP errors alike
            raise LabError(f"ksqlDB refused a statement of {statement.file}: {exc}\n"
                           f"{statement.text}") from exc
        status = (answer[0].get("commandStatus", {}) if answer else {})
        messages.append(f"{statement.file}: {status.get('message', 'ok')}")
    return messages


def recommendations_query(client_id: str, limit: int) -> str:
    """The MVP's push query for one client; the id is validated and quoted, never pasted."""
    checked = _client_id(client_id).replace("'", "''")
    sql = "SELECT * FROM SEARCHES_WITH_PRODUCTS WHERE CLIENT_ID = '{}' EMIT CHANGES LIMIT {};"
    return sql.format(checked, int(limit))


def recommendations(client: KsqlClient, client_id: str, limit: int = 10) -> list[dict[str, Any]]:
    """The client's recommendations from the push query (from the earliest search on)."""
    rows = client.query(recommendations_query(client_id, limit),
                        stream_properties={"auto.offset.reset": "earliest"}, parse=True)
    return [dict(row) for row in rows]


def ksqldb_client(cfg: LabConfig) -> KsqlClient:
    """A client of the configured ksqlDB server; LabError when none is configured."""
    url = cfg.ksqldb_url
    if url is None:
        raise LabError(f"no ksqlDB server in the {cfg.profile} profile: it runs in the docker "
                       "profile (LAB_PROFILE=docker), or set LAB_KSQLDB__URL, e.g. "
                       "http://localhost:8088")
    from ksql import KSQLAPI  # imported here: only the docker profile needs it

    client: KsqlClient = KSQLAPI(url)
    return client
