"""Programs the lab takes from Debian's packages (monitoring, the registry's proxy): found on
PATH, installed with apt-get as root where apt exists, or one line saying what to install."""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Mapping

from pokupai_lib.errors import MissingToolError
from pokupai_lib.runtime.artifacts import apt_get

__all__ = ["ensure_debian_programs", "missing_programs"]

log = logging.getLogger(__name__)


def missing_programs(programs: Mapping[str, str]) -> list[str]:
    """The programs (keys of ``program → Debian package``) not on PATH."""
    return [program for program in programs if shutil.which(program) is None]


def ensure_debian_programs(programs: Mapping[str, str], purpose: str) -> None:
    """Install the Debian packages of the programs missing from PATH (as root, where apt
    exists); ``purpose`` names what needs them in the error.

    Raises MissingToolError saying what to install when that is not possible.
    """
    missing = missing_programs(programs)
    if not missing:
        return
    packages = sorted({programs[program] for program in missing})
    how = (f"install the Debian packages {' '.join(packages)} (apt-get install "
           f"{' '.join(packages)}), or put {', '.join(missing)} on PATH")
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise MissingToolError(f"{purpose} needs {', '.join(missing)}: {how}")
    result = apt_get(["install", "-y", *packages])
    if result.returncode != 0 or missing_programs(programs):
        raise MissingToolError(f"apt-get could not install {' '.join(packages)} "
                               f"({result.stderr.strip()[-200:]}); {how}")
    size = re.search(r"Need to get (\S+ \S+) of archives", result.stdout)
    log.info("installed Debian's %s%s", " ".join(packages), f": {size[1]}" if size else "")
