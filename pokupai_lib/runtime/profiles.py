"""What each profile needs from the machine: the docker profile a Docker engine that answers.

The engine is asked through the ``docker`` command (``docker info``), the same client a person
would use, rather than a Python SDK the local profile would never need.
"""

from __future__ import annotations

import shutil
import subprocess

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import ProfileUnavailableError

__all__ = ["docker_engine_problem", "require_profile"]

_DOCKER_INFO_TIMEOUT_S = 15.0


def docker_engine_problem() -> str | None:
    """Why no Docker engine can be used here, or None when one answers ``docker info``."""
    docker = shutil.which("docker")
    if docker is None:
        return "the docker command is not on PATH"
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
            timeout=_DOCKER_INFO_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return f"docker info did not answer within {_DOCKER_INFO_TIMEOUT_S:.0f} s"
    except OSError as exc:
        return f"{docker} could not run: {exc}"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return f"docker info failed: {lines[-1] if lines else f'exit code {done.returncode}'}"
    return None


def require_profile(cfg: LabConfig) -> None:
    """Check the machine can run ``cfg.profile``; the local profile needs nothing more here.

    Raises:
        ProfileUnavailableError: the docker profile is requested and no Docker engine answers.
    """
    if cfg.profile != "docker":
        return
    problem = docker_engine_problem()
    if problem is not None:
        raise ProfileUnavailableError(
            f"the docker profile needs a Docker engine, and none is usable here ({problem}); "
            "start Docker, or run the local profile (unset LAB_PROFILE or pass profile='local')")
