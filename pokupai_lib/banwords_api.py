"""The ban-words API (port 6068, principal ``banwords-api``): the MVP's paths, kept.

``/api/v1/banned-words`` (+ ``/add``, ``/bulk-add``, ``/remove``) for words and phrases, and the
same under ``/api/v1/banned-products`` and ``/api/v1/banned-skus`` for exact bans. The view is
rebuilt from the ``ban-words`` topic at start and follows it; every change is written there.
(No ``from __future__ import annotations`` here: FastAPI must see the request models of the
routes built in ``_router`` as classes, not as strings it cannot resolve.)
"""


import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

from pokupai_lib.ban_rules import BanKind, BanList
from pokupai_lib.ban_topic import BanTopic, ban_key
from pokupai_lib.config import LabConfig, load_config
from pokupai_lib.rest_validation import bounded_text, explain_validation

__all__ = ["MAX_BULK_ITEMS", "MAX_TERM_LENGTH", "create_app"]

MAX_TERM_LENGTH = 100
MAX_BULK_ITEMS = 1000


check_term = bounded_text(MAX_TERM_LENGTH)


Term = Annotated[StrictStr, AfterValidator(check_term)]
Terms = Annotated[list[Term], Field(min_length=1, max_length=MAX_BULK_ITEMS)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WordRequest(_Strict):
    word: Term


class WordsRequest(_Strict):
    words: Terms


class ProductIdRequest(_Strict):
    product_id: Term


class ProductIdsRequest(_Strict):
    product_ids: Terms


class SkuRequest(_Strict):
    sku: Term


class SkusRequest(_Strict):
    skus: Terms


@dataclass(frozen=True)
class BanResource:
    """One kind of ban, the MVP-style path and field names, and the request bodies."""

    kind: BanKind
    path: str
    field: str
    bulk_field: str
    single: type[BaseModel]
    bulk: type[BaseModel]


RESOURCES = (
    BanResource("word", "banned-words", "word", "words", WordRequest, WordsRequest),
    BanResource("product_id", "banned-products", "product_id", "product_ids",
                ProductIdRequest, ProductIdsRequest),
    BanResource("sku", "banned-skus", "sku", "skus", SkuRequest, SkusRequest),
)


class BanService:
    """The API's state: the view of the ban list and the topic it comes from."""

    def __init__(self, cfg: LabConfig) -> None:
        self.topic = BanTopic(cfg)
        self.bans = BanList()
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def start(self) -> None:
        self.topic.load(self.bans)
        self.topic.follow(self.bans, self.stop)

    def add(self, kind: BanKind, terms: list[str], source: str) -> dict[str, Any]:
        added, present = [], []
        with self.lock:
            for term in terms:
                key = ban_key(term, kind)
                if key in {ban_key(t, kind) for t in self.bans.terms(kind)}:
                    present.append(term)
                    continue
                entry = self.topic.add(term, kind, source)
                self.bans.add(entry.term, kind)
                added.append(entry.term)
        return {"added": added, "already_present": present, "total": len(self.bans.terms(kind))}

    def remove(self, kind: BanKind, term: str) -> dict[str, Any]:
        with self.lock:
            present = self.bans.remove(term, kind)
            if present:
                self.topic.remove(term, kind)
        return {"removed": present, "term": term, "total": len(self.bans.terms(kind))}


def _service(request: Request) -> BanService:
    service: BanService = request.app.state.bans
    return service


Service = Annotated[BanService, Depends(_service)]


def _router(res: BanResource) -> APIRouter:
    single, bulk = res.single, res.bulk
    router = APIRouter(prefix=f"/api/v1/{res.path}", tags=[res.path])

    @router.get("")
    def list_terms(service: Service) -> dict[str, Any]:
        terms = service.bans.terms(res.kind)
        return {res.bulk_field: terms, "count": len(terms)}

    @router.post("/add")
    def add(body: single, service: Service) -> dict[str, Any]:  # type: ignore[valid-type]
        return service.add(res.kind, [getattr(body, res.field)], "api")

    @router.post("/bulk-add")
    def bulk_add(body: bulk, service: Service) -> dict[str, Any]:  # type: ignore[valid-type]
        return service.add(res.kind, list(getattr(body, res.bulk_field)), "api bulk-add")

    @router.post("/remove")
    def remove(body: single, service: Service) -> dict[str, Any]:  # type: ignore[valid-type]
        return service.remove(res.kind, getattr(body, res.field))

    return router


def create_app(cfg: LabConfig | None = None) -> FastAPI:
    """The app factory (``uvicorn --factory pokupai_lib.banwords_api:create_app``)."""
    config = cfg or load_config()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = BanService(config)
        service.start()
        app.state.bans = service
        yield
        service.stop.set()

    app = FastAPI(title="«Покупай выгодно» ban-words API", lifespan=lifespan)
    app.add_exception_handler(RequestValidationError, explain_validation)
    for res in RESOURCES:
        app.include_router(_router(res))

    @app.get("/health")
    def health(service: Service) -> dict[str, Any]:
        return {"status": "ok", "entries": len(service.bans)}

    return app
