"""422 answers that name each offending field and say why, shared by the lab's REST services."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

__all__ = ["explain_validation"]


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
