"""Why is a product hidden? ``GET /api/v1/moderation/{product_id}`` on the ban-words API.

The filter holds the moderation state (rebuilt from ``shop-moderation``) and answers on its
stats port; the API asks it, so the answer is the decision the filter acts on, with nothing
kept twice. Reads are open: a seller may ask about any product.
"""

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, HTTPException, Path

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import InvalidInputError, ServiceError

__all__ = ["ask_why", "moderation_router"]

ProductId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"\S")]


def moderation_router(cfg: LabConfig) -> APIRouter:
    """The ``/api/v1/moderation`` routes, asking the filter at ``cfg.filter.url``."""
    router = APIRouter(prefix="/api/v1/moderation", tags=["moderation"])

    @router.get("/{product_id}")
    def why(product_id: ProductId) -> dict[str, Any]:
        try:
            response = httpx.get(f"{cfg.filter.url}/moderation/{product_id}",
                                 timeout=cfg.timeouts.http_s)
        except httpx.TransportError as exc:
            raise HTTPException(503, f"the filter, which holds the moderation state, does not "
                                     f"answer ({type(exc).__name__}); `pokupai status` shows "
                                     f"it, its log is {cfg.paths.log('filter')}") from exc
        if response.status_code == 404:
            raise HTTPException(404, f"product {product_id!r} was never judged by the filter: "
                                     f"an unknown id, or not filtered yet")
        if response.status_code != 200:
            raise HTTPException(503, f"the filter answered {response.status_code}")
        answer: dict[str, Any] = response.json()
        return answer

    return router


def ask_why(cfg: LabConfig, product_id: str) -> dict[str, Any]:
    """The ban API's answer for ``product_id``.

    Raises:
        InvalidInputError: the product was never judged (404) or the id is refused (422).
        ServiceError: the API or the filter behind it cannot answer.
    """
    try:
        response = httpx.get(f"{cfg.ban_api.url}/api/v1/moderation/{product_id}",
                             timeout=cfg.timeouts.http_s)
    except httpx.TransportError as exc:
        raise ServiceError(f"the ban-words API at {cfg.ban_api.url} does not answer "
                           f"({type(exc).__name__}); start it with `make up`") from exc
    detail = response.json().get("detail") if response.status_code != 200 else None
    if response.status_code in (404, 422):
        raise InvalidInputError(str(detail))
    if response.status_code != 200:
        raise ServiceError(f"the ban-words API answered {response.status_code}: {detail}")
    answer: dict[str, Any] = response.json()
    return answer
