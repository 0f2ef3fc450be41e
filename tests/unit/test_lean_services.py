"""The supervised Python services import only what they run, and the packages' lazy
re-exports all resolve."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import pokupai_lib
from pokupai_lib.config import LabConfig
from pokupai_lib.runtime.services import (
    alert_receiver_spec,
    banwords_api_spec,
    client_api_spec,
    filter_spec,
    recommender_spec,
)
from pokupai_lib.runtime.supervisor import ServiceSpec

SOURCE_ROOT = Path(pokupai_lib.__file__).resolve().parents[1]
# What notebooks need and a service must not load: pandas alone took 60-100 MiB of each.
NOTEBOOK_ONLY = ("pandas", "matplotlib", "plotly", "tqdm.notebook", "IPython", "ipywidgets",
                 "pokupai_lib.lab")
SPECS: dict[str, Callable[[LabConfig], ServiceSpec]] = {
    "filter": filter_spec,
    "recommender": recommender_spec,
    "banwords-api": banwords_api_spec,
    "client-api": client_api_spec,
    "alert-receiver": alert_receiver_spec,
}

# The packages whose __init__ re-exports lazily (an __init__.pyi beside it); ``config`` is
# imported by everything, service processes included, and re-exports eagerly.
PACKAGES = ["pokupai_lib", *(f"pokupai_lib.{m.name}" for m in
                              pkgutil.iter_modules(pokupai_lib.__path__) if m.ispkg
                              and (SOURCE_ROOT / "pokupai_lib" / m.name / "__init__.pyi").exists())]

def entry_module(spec: ServiceSpec) -> str:
    """The module a service's command runs: ``-m MODULE`` or uvicorn's ``MODULE:factory``."""
    command = spec.command
    if "--factory" in command:
        return command[command.index("--factory") + 1].split(":")[0]
    return command[command.index("-m") + 1]


def modules_loaded_by(module: str, names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` a fresh interpreter has in sys.modules after ``import module``."""
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(SOURCE_ROOT),
                                                       os.environ.get("PYTHONPATH")]))}
    env.pop("EAGER_IMPORT", None)  # lazy_loader would import every re-export at once
    script = (f"import sys, {module}; "
              f"print(' '.join(n for n in {names!r} if n in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, cwd=SOURCE_ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize("service", SPECS)
def test_a_service_entry_module_does_not_import_pandas(service: str, tmp_cfg: LabConfig) -> None:
    module = entry_module(SPECS[service](tmp_cfg))
    assert module.startswith("pokupai_lib.")
    assert modules_loaded_by(module, NOTEBOOK_ONLY) == [], (
        f"{service} ({module}) imports notebook-only modules; move DataFrame helpers into the "
        "package's checks module")


def test_the_entry_modules_are_the_known_ones(tmp_cfg: LabConfig) -> None:
    assert {entry_module(make(tmp_cfg)) for make in SPECS.values()} == {
        "pokupai_lib.ingest.app", "pokupai_lib.recommendations.app", "pokupai_lib.bans.app",
        "pokupai_lib.client_api.app", "pokupai_lib.monitoring.alert_receiver"}


def test_importing_the_top_level_package_loads_no_sub_package() -> None:
    assert modules_loaded_by("pokupai_lib", ("pokupai_lib.lab", "pokupai_lib.config",
                                             "pandas")) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_lazy_re_export_resolves(package: str) -> None:
    module = importlib.import_module(package)
    names = module.__all__
    assert names, f"{package}/__init__.pyi re-exports nothing"
    assert sorted(dir(module)) == sorted(names)
    for name in names:
        value = getattr(module, name)
        assert value is not None, f"{package}.{name}"
        defined_in = getattr(value, "__module__", None)
        if defined_in and defined_in.startswith(package):
            assert name in importlib.import_module(defined_in).__all__, (
                f"{package} re-exports {name}, which {defined_in} does not list in __all__")
