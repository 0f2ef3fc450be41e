from __future__ import annotations

import pytest

from pokupai_lib.runtime import preflight


@pytest.mark.parametrize(("output", "major"), [
    ('openjdk version "17.0.15" 2025-04-15', 17),
    ('java version "1.8.0_292"', 8),
    ('openjdk version "25" 2025-09-16', 25),
    ("no version here", None),
])
def test_java_major_version(output: str, major: int | None) -> None:
    assert preflight.java_major_version(output) == major


def test_missing_java_and_maven_each_get_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight.shutil, "which", lambda _name: None)
    problems = preflight.find_problems()
    assert [p.tool for p in problems] == ["java", "mvn"]
    assert all("\n" not in str(p) and "install" in str(p) for p in problems)


def test_old_python_is_named_with_what_to_install() -> None:
    problem = preflight._python_problem((3, 9))
    assert problem is not None
    assert "3.9" in problem.advice and "3.11" in problem.advice


def test_old_java_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    class Done:
        stdout, stderr = "", 'java version "1.8.0_292"'

    monkeypatch.setattr(preflight.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(preflight.subprocess, "run", lambda *_a, **_k: Done())
    problem = preflight._java_problem()
    assert problem is not None and "version 8" in problem.advice


def test_this_machine_passes() -> None:
    assert preflight.find_problems() == []
