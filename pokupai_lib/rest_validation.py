"""Input rules and 422 answers shared by the lab's REST services.

Text fields are stripped and refused when empty, over-long or holding control characters;
a 422 names each offending field (``words[2]``) and says why.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

__all__ = ["bounded_text", "explain_validation"]


def bounded_text(limit: int) -> Callable[[str], str]:
    """A validator: the stripped text, or ValueError saying what is wrong with it."""
    def check(value: str) -> str:
        stripped = value.strip()
        if not stripped:
            raise ValueError("must not be empty or whitespace only")
        if len(stripped) > limit:
            raise ValueError(f"is {len(stripped)} characters long, at most {limit} allowed")
        if any(ord(ch) < 32 for ch in stripped):
            raise ValueError("must not contain control characters")
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
