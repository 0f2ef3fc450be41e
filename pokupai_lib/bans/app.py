"""The ban-words API (port 6068, principal ``banwords-api``): the MVP's paths, kept.

``/api/v1/banned-words`` (+ ``/add``, ``/bulk-add``, ``/remove``) for words and phrases, and the
same under ``/api/v1/banned-products`` and ``/api/v1/banned-skus`` for exact bans. The view is
rebuilt from the ``ban-words`` topic at start and follows it.

Every change is written first, in one transaction per request (a bulk-add is all or nothing),
and applied to the view only once committed. Answers: 422 for a bad term (naming the item and
why), 413 for a body over ``ban_api.max_body_bytes`` (checked before parsing), 503 when the
change could not be committed (nothing of it applied). If the follower dies, /health answers
503 and the process exits.

Only a moderator changes bans: every write (``add``, ``bulk-add``, ``remove``) needs the
moderator token (:mod:`pokupai_lib.bans.moderator`; 401 without it, 403 with a wrong one), read
once at start-up; reads and /health are open.
(No ``from __future__ import annotations`` here: FastAPI must see the request models of the
routes built in ``_router`` as classes, not as strings it cannot resolve.)
"""


import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

from pokupai_lib.bans.moderation_view import moderation_router
from pokupai_lib.bans.moderator import Moderator, ModeratorToken
from pokupai_lib.bans.rules import BanKind, BanList, normalize_term
from pokupai_lib.bans.topic import BanTopic, ban_entry, ban_key, entry_record, tombstone_record
from pokupai_lib.bans.writer import BanWriter
from pokupai_lib.config import LabConfig, load_config
from pokupai_lib.errors import BanWriteError
from pokupai_lib.runtime.rest_validation import bounded_text, explain_validation

__all__ = ["MAX_BULK_ITEMS", "MAX_TERM_LENGTH", "BanService", "check_exact", "check_term",
           "check_word", "create_app"]

log = logging.getLogger(__name__)

MAX_TERM_LENGTH = 100
MAX_BULK_ITEMS = 1000


check_term = bounded_text(MAX_TERM_LENGTH)


def check_word(value: str) -> str:
    """A ban word or phrase must keep a letter or digit once folded; ValueError says why not."""
    normalize_term(value)
    return value


def check_exact(value: str) -> str:
    """A product id or SKU must hold a letter or digit; ValueError says why not."""
    if not any(ch.isalnum() for ch in value):
        raise ValueError(f"{value!r} has no letters or digits; give a product id or SKU")
    return value


WordTerm = Annotated[StrictStr, AfterValidator(check_term), AfterValidator(check_word)]
ExactTerm = Annotated[StrictStr, AfterValidator(check_term), AfterValidator(check_exact)]
WordTerms = Annotated[list[WordTerm], Field(min_length=1, max_length=MAX_BULK_ITEMS)]
ExactTerms = Annotated[list[ExactTerm], Field(min_length=1, max_length=MAX_BULK_ITEMS)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WordRequest(_Strict):
    word: WordTerm


class WordsRequest(_Strict):
    words: WordTerms


class ProductIdRequest(_Strict):
    product_id: ExactTerm


class ProductIdsRequest(_Strict):
    product_ids: ExactTerms


class SkuRequest(_Strict):
    sku: ExactTerm


class SkusRequest(_Strict):
    skus: ExactTerms


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
    """The API's state: the view of the ban list, the topic it follows, the writer of changes.

    Writes are serialized by ``lock``; the view changes only after a write is committed.
    """

    def __init__(self, cfg: LabConfig, writer: BanWriter | None = None,
                 topic: BanTopic | None = None) -> None:
        """Build the service; nothing connects before :meth:`start`."""
        self.topic = topic or BanTopic(cfg)
        self.writer = writer or BanWriter.for_api(cfg)
        self.bans = BanList()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.failure: BaseException | None = None

    def start(self, on_death: Callable[[BaseException], None]) -> None:
        """Fence a predecessor's transaction, load the view, follow the topic.

        ``on_death`` is called (after :attr:`failure` is set) if the follower dies.
        """
        self.writer.start()

        def died(exc: BaseException) -> None:
            self.failure = exc
            log.critical("the ban-words follower died: %r", exc)
            on_death(exc)

        self.topic.load_and_follow(self.bans, self.stop, on_death=died,
                                   on_error=lambda problem: log.warning("ban-words: %s", problem))

    def _keys(self, kind: BanKind) -> set[str]:
        return {ban_key(term, kind) for term in self.bans.terms(kind)}

    def add(self, kind: BanKind, terms: list[str], source: str) -> dict[str, Any]:
        """Ban the new ones of ``terms`` in one transaction; raises BanWriteError (no change)."""
        with self.lock:
            known, entries, present = self._keys(kind), [], []
            for term in terms:
                key = ban_key(term, kind)
                if key in known:
                    present.append(term)
                else:
                    known.add(key)
                    entries.append(ban_entry(term, kind, source))
            if entries:
                self.writer.write([entry_record(entry) for entry in entries])
            for entry in entries:
                self.bans.add(entry.term, kind)
        return {"added": [entry.term for entry in entries], "already_present": present,
                "total": len(self.bans.terms(kind))}

    def remove(self, kind: BanKind, term: str) -> dict[str, Any]:
        """Lift a ban: the tombstone first, the view after; raises BanWriteError (no change)."""
        with self.lock:
            present = ban_key(term, kind) in self._keys(kind)
            if present:
                self.writer.write([tombstone_record(term, kind)])
                self.bans.remove(term, kind)
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
    def add(_moderator: Moderator, body: single,  # type: ignore[valid-type]
            service: Service) -> dict[str, Any]:
        return service.add(res.kind, [getattr(body, res.field)], "api")

    @router.post("/bulk-add")
    def bulk_add(_moderator: Moderator, body: bulk,  # type: ignore[valid-type]
                 service: Service) -> dict[str, Any]:
        return service.add(res.kind, list(getattr(body, res.bulk_field)), "api bulk-add")

    @router.post("/remove")
    def remove(_moderator: Moderator, body: single,  # type: ignore[valid-type]
               service: Service) -> dict[str, Any]:
        return service.remove(res.kind, getattr(body, res.field))

    return router


async def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """503 with the writer's explanation: the change was not committed, nothing applied."""
    return JSONResponse(status_code=503, content={"detail": str(exc)})


def _exit_process(_exc: BaseException) -> None:
    """Stop uvicorn as SIGTERM would: a view that no longer follows the topic must not serve."""
    os.kill(os.getpid(), signal.SIGTERM)


def create_app(cfg: LabConfig | None = None) -> FastAPI:
    """The app factory (``uvicorn --factory pokupai_lib.bans.app:create_app``).

    Raises:
        CredentialError: the moderator token is missing or unusable (run `make bootstrap`);
            the API does not start without it.
    """
    config = cfg or load_config()
    moderator = ModeratorToken.load(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = BanService(config)
        service.start(on_death=_exit_process)
        app.state.bans = service
        yield
        service.stop.set()

    app = FastAPI(title="«Покупай выгодно» ban-words API", lifespan=lifespan,
                  max_body_size=config.ban_api.max_body_bytes)
    app.state.moderator = moderator
    app.add_exception_handler(RequestValidationError, explain_validation)
    app.add_exception_handler(BanWriteError, _unavailable)
    for res in RESOURCES:
        app.include_router(_router(res))
    app.include_router(moderation_router(config))

    @app.get("/health")
    def health(service: Service) -> dict[str, Any]:
        if service.failure is not None:
            raise HTTPException(503, f"the ban-words follower died ({service.failure!r}); "
                                     f"the API is exiting, see {config.paths.log('banwords-api')}")
        return {"status": "ok", "entries": len(service.bans)}

    return app
