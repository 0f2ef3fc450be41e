"""The sink plugin is built from its sources once, and again only when they change."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import ArtifactError
from pokupai_lib.runtime.connect_plugin import (
    connect_plugins_dir,
    ensure_connect_plugins,
    sink_project,
)

# Stands in for Maven: `package` writes the plugin jar into -Dplugin.dir and counts its runs;
# FAIL in the environment makes it fail like a compilation error, half-way.
FAKE_MVN = """#!/bin/sh
echo run >> "$(dirname "$0")/runs"
for arg in "$@"; do
  case "$arg" in -Dplugin.dir=*) out="${arg#-Dplugin.dir=}";; esac
done
mkdir -p "$out"
if [ -n "$FAIL" ]; then echo "[ERROR] Foo.java:[3,1] class, interface, or enum expected"; exit 1; fi
head -c 1000000 /dev/zero > "$out/pokupai-es-sink-1.2.0.jar"
"""
POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <artifactId>pokupai-es-sink</artifactId><version>1.2.0</version>
</project>"""


@pytest.fixture
def fake_mvn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake ``mvn`` first on PATH; returns the file where it counts its runs."""
    mvn = tmp_path / "bin" / "mvn"
    mvn.parent.mkdir()
    mvn.write_text(FAKE_MVN)
    mvn.chmod(0o755)
    monkeypatch.setenv("PATH", f"{mvn.parent}:/usr/bin:/bin")
    monkeypatch.delenv("FAIL", raising=False)
    return mvn.parent / "runs"


@pytest.fixture
def project(tmp_cfg: LabConfig) -> Path:
    """A sink project with a POM and one source file."""
    source = sink_project(tmp_cfg) / "src" / "main" / "java" / "Sink.java"
    source.parent.mkdir(parents=True)
    source.write_text("class Sink {}")
    (sink_project(tmp_cfg) / "pom.xml").write_text(POM)
    return sink_project(tmp_cfg)


def _runs(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def test_the_plugin_is_built_once_and_again_only_when_a_source_changes(
        tmp_cfg: LabConfig, project: Path, fake_mvn: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plugin = connect_plugins_dir(tmp_cfg) / "pokupai-es-sink-1.2.0"
    with caplog.at_level(logging.INFO, logger="pokupai_lib"):
        assert ensure_connect_plugins(tmp_cfg) == connect_plugins_dir(tmp_cfg)
        ensure_connect_plugins(tmp_cfg)
    assert _runs(fake_mvn) == 1
    assert [r.getMessage() for r in caplog.records] == [
        f"built pokupai-es-sink: 1.0 MB, into {plugin}"]
    assert (plugin / "pokupai-es-sink-1.2.0.jar").exists()

    (project / "target").mkdir()
    (project / "target" / "junk.class").write_text("build output is not a source")
    ensure_connect_plugins(tmp_cfg)
    assert _runs(fake_mvn) == 1

    (project / "src" / "main" / "java" / "Sink.java").write_text("class Sink { int changed; }")
    ensure_connect_plugins(tmp_cfg)
    assert _runs(fake_mvn) == 2


def test_the_camel_plugin_and_other_versions_go_away(tmp_cfg: LabConfig, project: Path,
                                                     fake_mvn: Path) -> None:
    plugins = connect_plugins_dir(tmp_cfg)
    for old in ("camel-es-sink-0.11.0", "pokupai-es-sink-1.1.0"):
        (plugins / old).mkdir(parents=True)
    ensure_connect_plugins(tmp_cfg)
    assert [path.name for path in plugins.iterdir()] == ["pokupai-es-sink-1.2.0"]


def test_a_failed_build_says_why_and_leaves_no_plugin(tmp_cfg: LabConfig, project: Path,
                                                      fake_mvn: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAIL", "1")
    with pytest.raises(ArtifactError, match=r"class, interface, or enum expected"):
        ensure_connect_plugins(tmp_cfg)
    assert list(connect_plugins_dir(tmp_cfg).iterdir()) == []
