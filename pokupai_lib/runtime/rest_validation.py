"""Input rules and 422 answers shared by the lab's REST services.

Text fields are stripped and refused when empty, over-long or holding control characters
(C0, DEL, C1) or bidirectional controls (which can make text display other than it reads);
a 422 names each offending field (``words[2]``) and says why.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

__all__ = ["BIDI_CONTROLS", "bounded_text", "explain_validation", "forbidden_character"]

# LRM, RLM, the embeddings and overrides, the isolates, and the Arabic letter mark.
BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069\u061c")


def forbidden_character(text: str) -> str | None:
    """Say what is wrong with the first control or bidi control character of ``text``.

    Args:
        text: the text to check.

    Returns:
        None when there is none, else e.g. ``"must not contain the control character U+0085
        (character 3)"`` (counting from 1).
    """
    for position, ch in enumerate(text, start=1):
        if unicodedata.category(ch) == "Cc":
            return f"must not contain the control character U+{ord(ch):04X} (character {position})"
        if ch in BIDI_CONTROLS:
            return (f"must not contain the bidirectional control U+{ord(ch):04X} "
                    f"{unicodedata.name(ch)} (character {position})")
    return None


def bounded_text(limit: int) -> Callable[[str], str]:
    """A validator: the stripped text, or ValueError saying what is wrong with it.

    Refused: empty or whitespace only, longer than ``limit`` once stripped, or holding a
    control or bidi control character anywhere but as leading/trailing space, tab or newline.
    """
    def check(value: str) -> str:
        stripped = value.strip()
        if not stripped:
            raise ValueError("must not be empty or whitespace only")
        if len(stripped) > limit:
            raise ValueError(f"is {len(stripped)} characters long, at most {limit} allowed")
        # str.strip() also drops C1 controls such as NEL (U+0085): check before it, bar the
        # usual edge whitespace.
        problem = forbidden_character(value.strip(" \t\n\r"))
        if problem:
            raise ValueError(problem)
        return stripped
    return check


async def explain_validation(_request: Request, exc: Exception) -> JSONResponse:
    """422 naming each offending item (``words[2]``) and why, instead of pydantic's dump."""
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type only
    problems = []
    for error in exc.errors():
        location = [str(p) for p in error["loc"] if p not in ("body", "path", "query")]
        field = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in location).lstrip(".")
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append({"field": field or "body", "error": message})
    return JSONResponse(status_code=422, content={"detail": problems})
