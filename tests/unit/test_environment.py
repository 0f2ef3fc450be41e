"""environment.yml and pyproject.toml pin the same packages at the same versions."""

from __future__ import annotations

import tomllib

import yaml

from pokupai_lib.config import project_root


def _pyproject_pins() -> set[str]:
    project = tomllib.loads((project_root() / "pyproject.toml").read_text())["project"]
    return set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])


def _environment() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((project_root() / "environment.yml").read_text())
    return loaded


def test_every_dependency_is_pinned_exactly() -> None:
    assert all("==" in pin for pin in _pyproject_pins())


def test_environment_yml_pins_the_same_pip_packages() -> None:
    deps = _environment()["dependencies"]
    assert isinstance(deps, list)
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert {p for p in pip if "==" in p} == _pyproject_pins()


def test_environment_yml_brings_python_java_and_maven() -> None:
    deps = _environment()["dependencies"]
    assert isinstance(deps, list)
    assert {"python=3.11", "openjdk=17", "maven"} <= {d for d in deps if isinstance(d, str)}
