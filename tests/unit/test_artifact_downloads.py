"""Bootstrap says what it downloads: one line per artifact fetched, nothing when cached."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pokupai_lib.runtime.artifacts import resolve_dependencies

# Stands in for Maven: copy-dependencies writes one 2 MB jar into -DoutputDirectory.
FAKE_MVN = """#!/bin/sh
for arg in "$@"; do
  case "$arg" in -DoutputDirectory=*) out="${arg#-DoutputDirectory=}";; esac
done
mkdir -p "$out" && head -c 2000000 /dev/zero > "$out/probe-1.0.jar"
"""


def test_a_fetch_logs_one_line_with_its_size_and_a_cached_one_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    mvn = tmp_path / "bin" / "mvn"
    mvn.parent.mkdir()
    mvn.write_text(FAKE_MVN)
    mvn.chmod(0o755)
    monkeypatch.setenv("PATH", f"{mvn.parent}:/usr/bin:/bin")
    pom, out = tmp_path / "probe" / "pom.xml", tmp_path / "cache" / "probe-1.0"
    with caplog.at_level(logging.INFO, logger="pokupai_lib"):
        resolve_dependencies(pom, out, {})
        resolve_dependencies(pom, out, {})
    assert [record.getMessage() for record in caplog.records] == [
        f"fetched probe: 2.0 MB, into {out}"]
    assert (out / "probe-1.0.jar").exists()
