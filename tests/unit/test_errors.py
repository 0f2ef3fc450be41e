"""One exception tree: every exception class of the library derives from LabError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pokupai_lib
from pokupai_lib.errors import InvalidInputError, LabError


def _library_modules() -> list[str]:
    return [info.name for info in pkgutil.walk_packages(pokupai_lib.__path__, "pokupai_lib.")
            if not info.name.endswith("__main__")]  # __main__ runs the CLI when imported


def test_every_exception_class_of_the_library_is_a_lab_error() -> None:
    outside = []
    for name in _library_modules():
        module = importlib.import_module(name)
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == name \
                    and not issubclass(cls, LabError):
                outside.append(f"{name}.{cls_name}")
    assert outside == []


def test_invalid_input_is_a_value_error_too() -> None:
    # pydantic validators and callers that catch ValueError keep working.
    assert issubclass(InvalidInputError, ValueError)
