"""The CLI turns a lab error into one line and exit code 1 (no broker involved)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pokupai_lib.cli import app
from pokupai_lib.config import load_config


def test_an_empty_ban_term_is_one_line_and_exit_1() -> None:
    result = CliRunner().invoke(app, ["ban", "add", "   "])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("error: ban term")


def test_an_unknown_kind_is_refused_by_the_parser() -> None:
    result = CliRunner().invoke(app, ["ban", "add", "x", "--kind", "color"])
    assert result.exit_code == 2


def test_search_without_a_running_api_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_CLIENT_API__PORT", "9")  # discard port: nothing listens there
    load_config.cache_clear()
    try:
        result = CliRunner().invoke(app, ["search", "часы", "--client", "1"])
    finally:
        load_config.cache_clear()
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "did not answer" in lines[0] and "pokupai up" in lines[0]
