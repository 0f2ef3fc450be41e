"""Every row of the README's table of the MVP's commands runs, as written, against the real
platform and answers what the table says (so the table cannot rot).

Rows run in the table's order (a search comes before the recommendations it feeds). What they
change is put back afterwards: ban words the bulk-add added, topics they created, and the
broker the last row stops is started again with the table's own `pokupai up`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lab_fixture import Lab

from pokupai_lib.bans.topic import BanTopic
from pokupai_lib.ingest.checks import wait_for_filter_bans
from pokupai_lib.kafka.cluster import restore_preferred_leaders
from pokupai_lib.runtime.wait import wait_until
from pokupai_lib.stage_checks import probe_every_stage

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SECTION = "## The MVP's commands here"
FAILS = "fails: "


@dataclass(frozen=True)
class Row:
    """One row of the table: the MVP's command, the lab's, and what its answer contains."""

    number: int
    mvp: str
    here: str
    expect: str

    @property
    def must_fail(self) -> bool:
        return self.expect.startswith(FAILS)


def _cells(line: str) -> list[str]:
    """A Markdown table line's cells; ``\\|`` inside a cell is a literal bar."""
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [cell.strip().replace("\\|", "|") for cell in cells]


def _code(cell: str) -> str:
    match = re.fullmatch(r"`(.*)`", cell)
    return match[1] if match else ""


def table_rows(readme: Path) -> list[Row]:
    """The rows of the README's section on the MVP's commands."""
    text = readme.read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if re.match(r"\| \d+ \|", line)]
    rows = []
    for line in lines:
        number, mvp, here, expect, _why = _cells(line)
        rows.append(Row(int(number), mvp, _code(here), _code(expect)))
    return rows


ROWS = table_rows(REPO / "README.md")


def test_the_table_has_every_row_in_order_and_each_has_a_command() -> None:
    assert [row.number for row in ROWS] == list(range(1, len(ROWS) + 1))
    assert len(ROWS) >= 30
    assert all(row.here for row in ROWS), [row.number for row in ROWS if not row.here]


def _run(command: str, timeout_s: float = 300) -> tuple[int, str]:
    env = {**os.environ, "PATH": f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-c", command], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=timeout_s, check=False)
    return result.returncode, result.stdout + result.stderr


def _answered(row: Row, outcome: tuple[int, str]) -> bool:
    code, output = outcome
    if row.must_fail:
        return code != 0 and row.expect.removeprefix(FAILS) in output
    return code == 0 and row.expect in output


@pytest.fixture(scope="module")
def platform_put_back(lab: Lab) -> Iterator[list[str]]:
    """Collects what the rows changed and puts it back: the ban words they added, the topics
    they created, every broker running and leading its partitions, every stage working."""
    topics_before = set(lab.admin.list_topics(timeout=30).topics)
    added_bans: list[str] = []
    yield added_bans
    code, output = _run("pokupai up")
    assert code == 0, output
    restore_preferred_leaders(lab.cfg, "primary")
    created = set(lab.admin.list_topics(timeout=30).topics) - topics_before
    if created:
        for future in lab.admin.delete_topics(sorted(created)).values():
            future.result()
    bans = BanTopic(lab.cfg, principal="admin")
    for word in added_bans:
        bans.remove(word, "word")
    wait_for_filter_bans(lab.cfg)
    probe = probe_every_stage(lab.cfg)
    assert probe.ok, f"a stage stopped working after the MVP's commands: {probe.summary()}"


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"row-{row.number}")
def test_the_mvp_command_works_here(row: Row, platform_put_back: list[str]) -> None:
    # Some answers follow asynchronously (a recommendation after its search): ask again.
    outcome = wait_until(lambda: _run(row.here), until=lambda got: _answered(row, got),
                         timeout_s=60, every_s=2,
                         what=f"row {row.number}: `{row.here}` answering {row.expect!r}")
    if "banned-words/bulk-add" in row.here:
        platform_put_back.extend(json.loads(outcome[1])["added"])
