"""The moderator token: the credential the lab issues for changing the ban list (DESIGN §7).

The bootstrap writes it next to the certificates (``cfg.paths.moderator_token``): random, mode
0600, kept on later runs. The ban-words API loads it at start-up and refuses a write that does
not send it as ``Authorization: Bearer <token>``. Its value is never logged or shown.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
import tempfile
from pathlib import Path

from pydantic import SecretStr

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import CredentialError

__all__ = ["TOKEN_BYTES", "ensure_moderator_token", "read_moderator_token"]

log = logging.getLogger(__name__)

TOKEN_BYTES = 32  # secrets.token_urlsafe: 43 characters
# It travels in an HTTP header, so visible ASCII only; shorter than 32 characters is guessable.
_TOKEN = re.compile(r"[!-~]{32,}")
_MISSING = "does not exist"
_NOT_A_FILE = "is not a regular file"


def _problem(path: Path) -> str | None:
    """What makes the token file unusable, or None when it is fine; never says what it holds."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return _NOT_A_FILE
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except FileNotFoundError:
        return _MISSING
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        return f"is open to other users (mode {mode:04o}, must be 0600)"
    if not text:
        return "is empty"
    if not _TOKEN.fullmatch(text):
        return "does not hold a token (32 or more visible ASCII characters, no spaces)"
    return None


def _write_token(path: Path) -> None:
    """A new random token at ``path``, mode 0600.

    Written to a temporary file and renamed over the old one, so a reader never sees half a
    token, and the file is 0600 from its first byte (mkstemp's mode).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(TOKEN_BYTES))
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def ensure_moderator_token(cfg: LabConfig) -> bool:
    """Write the moderator token unless a usable one is there; idempotent.

    A token file that other users may open, that is empty or that holds no token is replaced
    with a warning (a token others could read may be known to them). A running ban-words API
    keeps the token it loaded until it is restarted.

    Returns:
        True when a new token was written, False when the existing one was kept.

    Raises:
        CredentialError: something other than a file (a directory) is at the token's path.
    """
    path = cfg.paths.moderator_token
    problem = _problem(path)
    if problem is None:
        return False
    if problem == _NOT_A_FILE:
        raise CredentialError(f"the moderator token {path} {problem}: remove it and run "
                              "`make bootstrap` again")
    if problem != _MISSING:
        log.warning("the moderator token %s %s; writing a new one (restart the ban-words API "
                    "to load it: `pokupai stop banwords-api && pokupai up`)", path, problem)
    _write_token(path)
    log.info("moderator token written to %s (mode 0600)", path)
    return True


def read_moderator_token(cfg: LabConfig) -> SecretStr:
    """The moderator token, if the file is as the bootstrap keeps it.

    Raises:
        CredentialError: the file is missing, empty, holds no token or is open to other users;
            the message names the file and `make bootstrap`.
    """
    path = cfg.paths.moderator_token
    problem = _problem(path)
    if problem is not None:
        raise CredentialError(f"the moderator token {path} {problem}: run `make bootstrap` "
                              "to write a new one")
    return SecretStr(path.read_text(encoding="ascii").strip())
