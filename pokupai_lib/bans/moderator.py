"""Only a moderator changes bans: the dependency of every write route of the ban-words API.

A write must send the moderator token (:mod:`pokupai_lib.runtime.moderator_token`) as
``Authorization: Bearer <token>``: without a Bearer token it is answered 401 with
``WWW-Authenticate: Bearer``, with a wrong token 403; the answer says where the token is. Reads
need nothing. The app factory loads the token once into ``app.state.moderator``; neither it nor
what a caller sent is logged or echoed.
(No ``from __future__ import annotations``: FastAPI reads the dependency's signature.)
"""

import hmac
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from pokupai_lib.config import LabConfig
from pokupai_lib.runtime.moderator_token import read_moderator_token

__all__ = ["Moderator", "ModeratorToken", "require_moderator"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModeratorToken:
    """The token a write must present, and the file a caller reads it from."""

    secret: SecretStr
    path: Path

    @classmethod
    def load(cls, cfg: LabConfig) -> "ModeratorToken":
        """The token the bootstrap wrote; raises CredentialError naming `make bootstrap`."""
        return cls(read_moderator_token(cfg), cfg.paths.moderator_token)

    def admits(self, sent: str) -> bool:
        """Whether ``sent`` is the moderator token (compared in constant time)."""
        return hmac.compare_digest(sent.encode(), self.secret.get_secret_value().encode())

    @property
    def how_to_send(self) -> str:
        """The header a write needs, as a shell command line would give it."""
        return f"send Authorization: Bearer $(cat {self.path})"


# Parses the header and shows the scheme in /docs; the answers are ours (auto_error=False).
_bearer = HTTPBearer(auto_error=False, scheme_name="moderatorToken",
                     description="the moderator token `make bootstrap` writes next to the "
                                 "certificates; every write needs it, reads do not")


def _refuse(request: Request, status: int, why: str, detail: str) -> HTTPException:
    """Log the refusal (what was refused and why, never a credential) and build the answer."""
    client = request.client.host if request.client else "?"
    log.warning("refused %s %s from %s (%d): %s", request.method, request.url.path, client,
                status, why)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return HTTPException(status, detail, headers=headers)


def require_moderator(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    """Let a write through only with the moderator token.

    Raises:
        HTTPException: 401 with ``WWW-Authenticate: Bearer`` when no Bearer token came (no
            ``Authorization`` header, or another scheme); 403 when the token is not the
            moderator's.
    """
    token: ModeratorToken = request.app.state.moderator
    if credentials is None:
        if "authorization" in request.headers:
            raise _refuse(request, 401, "not a Bearer token",
                          "writes need the moderator token as a Bearer token, not another "
                          f"scheme: {token.how_to_send}")
        raise _refuse(request, 401, "no Authorization header",
                      f"writes need the moderator token: {token.how_to_send}")
    if not token.admits(credentials.credentials):
        raise _refuse(request, 403, "not the moderator token",
                      f"the token sent is not the moderator token: {token.how_to_send} (if a "
                      "bootstrap replaced the token since the API started, restart the API)")


Moderator = Annotated[None, Depends(require_moderator)]
