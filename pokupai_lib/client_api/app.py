"""The client API (port 6078, principal ``client-api``): search and recommendations.

``POST /search {"id_client", "word_search"}`` (the MVP's call) records the search in
``client-searches`` first, then asks Elasticsearch. If Elasticsearch cannot answer, the reply
is a 503 that says so, and the search is still recorded. ``GET /products/{product_id}`` returns
one indexed product; ``GET /recommendations/{id_client}`` a client's latest recommendations
(404 for a client with none). (No ``from __future__ import annotations``: FastAPI reads the models.)
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError, TransportError
from elasticsearch.serializer import OrjsonSerializer
from fastapi import Depends, FastAPI, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict, StrictStr

from pokupai_lib.client_api.events import SearchEvent, SearchRecorder
from pokupai_lib.client_api.query import FILTER_PATH, SearchHit, hits_from_response, search_body
from pokupai_lib.client_api.recommendations_view import RecommendationsView
from pokupai_lib.config import LabConfig, load_config
from pokupai_lib.runtime.rest_validation import bounded_text, explain_validation

__all__ = ["MAX_CLIENT_ID_LENGTH", "MAX_SEARCH_LENGTH", "create_app"]

log = logging.getLogger(__name__)
MAX_CLIENT_ID_LENGTH = 64
MAX_SEARCH_LENGTH = 200


class SearchRequest(BaseModel):
    """The MVP's search body."""

    model_config = ConfigDict(extra="forbid")
    id_client: Annotated[StrictStr, AfterValidator(bounded_text(MAX_CLIENT_ID_LENGTH))]
    word_search: Annotated[StrictStr, AfterValidator(bounded_text(MAX_SEARCH_LENGTH))]


class SearchResponse(BaseModel):
    id_client: str
    word_search: str
    total: int
    took_ms: int
    products: list[SearchHit]


class ClientApi:
    """The app's state: the Elasticsearch client and the search-event recorder."""

    def __init__(self, cfg: LabConfig) -> None:
        self.cfg = cfg
        self.index = cfg.elastic.index
        self.es = AsyncElasticsearch(cfg.elastic.url, request_timeout=cfg.client_api.es_timeout_s,
                                     retry_on_timeout=False, max_retries=0,
                                     serializer=OrjsonSerializer())
        self.recorder = SearchRecorder(cfg)
        self.recommendations = RecommendationsView(cfg)

    def unavailable(self, exc: Exception) -> HTTPException:
        reason = type(exc).__name__
        if isinstance(exc, ApiError):
            reason = f"{exc.meta.status} {exc.message}"
        log.warning("Elasticsearch unavailable: %s", exc)
        return HTTPException(503, detail=f"search is unavailable: Elasticsearch at "
                                         f"{self.cfg.elastic.url} did not answer ({reason})")


def _api(request: Request) -> ClientApi:
    api: ClientApi = request.app.state.api
    return api


Api = Annotated[ClientApi, Depends(_api)]
# TransportError covers connection refused and timeouts; ApiError an error answer (e.g. 5xx).
_ES_DOWN = (TransportError, ApiError)


def create_app(cfg: LabConfig | None = None) -> FastAPI:
    """The app factory (``uvicorn --factory pokupai_lib.client_api.app:create_app``)."""
    config = cfg or load_config()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        api = ClientApi(config)
        api.recorder.start()
        api.recommendations.start()
        app.state.api = api
        yield
        undelivered = api.recorder.close()
        if undelivered:
            log.error("%d search events undelivered at shutdown", undelivered)
        api.recommendations.stop()
        await api.es.close()

    app = FastAPI(title="«Покупай выгодно» client API", lifespan=lifespan)
    app.add_exception_handler(RequestValidationError, explain_validation)

    @app.post("/search")
    async def search(body: SearchRequest, api: Api) -> SearchResponse:
        """Record the search in ``client-searches``, then return the best matches."""
        api.recorder.record(SearchEvent.now(body.id_client, body.word_search))
        try:
            response = await api.es.search(
                index=api.index, body=search_body(body.word_search, config.client_api.search_size),
                filter_path=FILTER_PATH)
        except _ES_DOWN as exc:
            raise api.unavailable(exc) from exc
        total, hits = hits_from_response(dict(response))
        return SearchResponse(id_client=body.id_client, word_search=body.word_search,
                              total=total, took_ms=int(response.get("took", 0)),
                              products=hits)

    @app.get("/products/{product_id}")
    async def product(product_id: Annotated[str, Path(min_length=1, max_length=64)],
                      api: Api) -> dict[str, Any]:
        """One indexed product, as the sink wrote it."""
        try:
            found = await api.es.get(index=api.index, id=product_id)
        except NotFoundError:
            raise HTTPException(404, detail=f"no product {product_id!r} in the index "
                                            f"{api.index!r}") from None
        except _ES_DOWN as exc:
            raise api.unavailable(exc) from exc
        source: dict[str, Any] = found["_source"]
        return source

    @app.get("/recommendations/{id_client}")
    async def recommendations(
            id_client: Annotated[str, Path(min_length=1, max_length=MAX_CLIENT_ID_LENGTH)],
            api: Api) -> dict[str, Any]:
        """The client's latest recommendations (newest first), from SEARCHES_WITH_PRODUCTS."""
        rows = api.recommendations.of(id_client)
        if rows is None:
            raise HTTPException(404, detail=f"no recommendations for client {id_client!r}: "
                                            "it has not searched yet (or the recommender has "
                                            "not processed its searches)")
        return {"id_client": id_client, "recommendations": rows}

    @app.get("/health")
    async def health(api: Api) -> dict[str, Any]:
        """Up even when Elasticsearch is not (then ``degraded``, with the reason)."""
        try:
            es_health = (await api.es.cluster.health(timeout="1s"))["status"]
        except _ES_DOWN as exc:
            es_health = f"unreachable: {type(exc).__name__}"
        status = "ok" if es_health in ("green", "yellow") else "degraded"
        return {"status": status, "elasticsearch": es_health,
                "search_events": api.recorder.stats(),
                "recommendations": api.recommendations.stats()}

    return app
