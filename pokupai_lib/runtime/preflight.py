"""Checks, before anything starts, that the tools the lab needs are there and new enough.

Standard library only: ``make`` runs this file with the system Python before the virtualenv
exists (``python3 pokupai_lib/runtime/preflight.py``), and the library calls
:func:`check_tools` again.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

MIN_PYTHON = (3, 11)
MIN_JAVA = 17


@dataclass(frozen=True)
class ToolProblem:
    """A missing or too old tool and one line that says what to install."""

    tool: str
    advice: str

    def __str__(self) -> str:
        return f"{self.tool}: {self.advice}"


def java_major_version(version_output: str) -> int | None:
    """The major version from ``java -version`` output (``"17.0.15"`` → 17, ``"1.8.0"`` → 8)."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not match:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2):
        return int(match.group(2))
    return major


def _java_problem() -> ToolProblem | None:
    java = shutil.which("java")
    if java is None:
        return ToolProblem("java", f"not found: install a JDK {MIN_JAVA}+ (apt-get install "
                                   f"openjdk-{MIN_JAVA}-jdk-headless) or set JAVA_HOME/PATH")
    out = subprocess.run([java, "-version"], capture_output=True, text=True,  # noqa: S603
                         check=False)
    major = java_major_version(out.stderr + out.stdout)
    if major is None or major < MIN_JAVA:
        return ToolProblem("java", f"{java} is version {major}; install a JDK {MIN_JAVA}+ "
                                   "and put it first on PATH")
    return None


def _maven_problem() -> ToolProblem | None:
    if shutil.which("mvn") is None:
        return ToolProblem("mvn", "not found: install Maven 3.6+ (apt-get install maven)")
    return None


def _python_problem(version: tuple[int, int]) -> ToolProblem | None:
    if version < MIN_PYTHON:
        need = ".".join(map(str, MIN_PYTHON))
        return ToolProblem("python", f"running {version[0]}.{version[1]}; install Python "
                                     f"{need} and run make with PY=python{need}")
    return None


def find_problems() -> list[ToolProblem]:
    """Every missing or too old tool, in the order a person would install them."""
    problems = [
        _python_problem(sys.version_info[:2]),
        _java_problem(),
        _maven_problem(),
    ]
    return [p for p in problems if p is not None]


def main() -> int:
    problems = find_problems()
    for problem in problems:
        print(f"preflight: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
