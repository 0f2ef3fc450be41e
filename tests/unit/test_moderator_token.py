"""The moderator token on disk: made by the bootstrap 0600, kept, repaired; read by the client."""

from __future__ import annotations

import logging
import stat

import pytest

from pokupai_lib import lab
from pokupai_lib.bans.client import BanApiClient
from pokupai_lib.bans.moderator import ModeratorToken
from pokupai_lib.config import LabConfig
from pokupai_lib.errors import CredentialError
from pokupai_lib.runtime.certs import CertReport
from pokupai_lib.runtime.moderator_token import ensure_moderator_token, read_moderator_token

# What lab.bootstrap does besides the certificates and the token: tools, downloads, builds.
BOOTSTRAP_STEPS = ["require_profile", "ensure_state_dir", "ensure_kafka_libs",
                   "ensure_registry_dist", "ensure_registry_proxy", "ensure_es_dist",
                   "ensure_hunspell_ru", "ensure_connect_plugins", "ensure_jmx_agent",
                   "ensure_monitoring_tools"]


def _mode(cfg: LabConfig) -> int:
    return stat.S_IMODE(cfg.paths.moderator_token.stat().st_mode)


def _token(cfg: LabConfig) -> str:
    return cfg.paths.moderator_token.read_text()


def test_the_bootstrap_writes_the_token_0600_and_keeps_it_the_second_time(
        tmp_cfg: LabConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    for step in BOOTSTRAP_STEPS:
        monkeypatch.setattr(lab, step, lambda *_args: None)
    monkeypatch.setattr(lab, "find_problems", list)
    monkeypatch.setattr(lab, "ensure_certificates", lambda _cfg: CertReport([], []))
    lab.bootstrap(tmp_cfg)
    first = _token(tmp_cfg)
    assert tmp_cfg.paths.moderator_token == tmp_cfg.paths.certs / "moderator.token"
    assert _mode(tmp_cfg) == 0o600 and len(first) == 43
    lab.bootstrap(tmp_cfg)
    assert _token(tmp_cfg) == first and _mode(tmp_cfg) == 0o600


def test_each_lab_gets_its_own_random_token(
        tmp_cfg: LabConfig, tmp_path_factory: pytest.TempPathFactory) -> None:
    other = tmp_cfg.model_copy(update={"paths": tmp_cfg.paths.model_copy(
        update={"root": tmp_path_factory.mktemp("other")})})
    assert ensure_moderator_token(tmp_cfg) and ensure_moderator_token(other)
    assert _token(tmp_cfg) != _token(other)
    assert ensure_moderator_token(tmp_cfg) is False


@pytest.mark.parametrize(("mode", "content", "why"), [
    (0o644, None, "is open to other users (mode 0644, must be 0600)"),
    (0o640, None, "is open to other users (mode 0640, must be 0600)"),
    (0o600, "", "is empty"),
    (0o600, " \n", "is empty"),
    (0o600, "short", "does not hold a token"),
    (0o600, "a token with spaces in it, long enough to pass", "does not hold a token"),
])
def test_a_token_file_open_to_others_or_without_a_token_is_replaced_with_a_warning(
        tmp_cfg: LabConfig, caplog: pytest.LogCaptureFixture, mode: int, content: str | None,
        why: str) -> None:
    ensure_moderator_token(tmp_cfg)
    old = _token(tmp_cfg)
    path = tmp_cfg.paths.moderator_token
    if content is not None:
        path.write_text(content)
    path.chmod(mode)
    with pytest.raises(CredentialError, match="run `make bootstrap` to write a new one"):
        read_moderator_token(tmp_cfg)
    caplog.set_level(logging.INFO)
    assert ensure_moderator_token(tmp_cfg) is True
    assert _mode(tmp_cfg) == 0o600 and _token(tmp_cfg) not in (old, content)
    assert read_moderator_token(tmp_cfg).get_secret_value() == _token(tmp_cfg)
    warning = next(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert f"{path} {why}" in warning and "restart the ban-words API" in warning
    assert old not in caplog.text and _token(tmp_cfg) not in caplog.text


def test_a_token_written_by_hand_is_kept(tmp_cfg: LabConfig) -> None:
    tmp_cfg.paths.certs.mkdir(parents=True)
    tmp_cfg.paths.moderator_token.write_text("my-own-moderator-token-of-32-chars!\n")
    tmp_cfg.paths.moderator_token.chmod(0o400)
    assert ensure_moderator_token(tmp_cfg) is False
    assert read_moderator_token(tmp_cfg).get_secret_value() == "my-own-moderator-token-of-32-chars!"


def test_a_directory_in_the_token_s_place_is_an_error(tmp_cfg: LabConfig) -> None:
    tmp_cfg.paths.moderator_token.mkdir(parents=True)
    with pytest.raises(CredentialError, match="is not a regular file: remove it"):
        ensure_moderator_token(tmp_cfg)


def test_without_the_token_the_client_says_run_make_bootstrap(tmp_cfg: LabConfig) -> None:
    with pytest.raises(CredentialError, match=r"moderator\.token does not exist: run `make "
                                              r"bootstrap`"):
        BanApiClient(tmp_cfg)
    with BanApiClient(tmp_cfg, credential=None) as anonymous:
        assert "authorization" not in anonymous.http.headers


def test_the_client_sends_the_moderator_token_unless_told_otherwise(tmp_cfg: LabConfig) -> None:
    ensure_moderator_token(tmp_cfg)
    token = _token(tmp_cfg)
    with BanApiClient(tmp_cfg) as moderator, BanApiClient(tmp_cfg, credential="guess") as guess:
        assert moderator.http.headers["authorization"] == f"Bearer {token}"
        assert guess.http.headers["authorization"] == "Bearer guess"


def test_the_token_does_not_show_in_a_repr(tmp_cfg: LabConfig) -> None:
    ensure_moderator_token(tmp_cfg)
    token = _token(tmp_cfg)
    assert token not in repr(read_moderator_token(tmp_cfg))
    assert token not in repr(ModeratorToken.load(tmp_cfg))
