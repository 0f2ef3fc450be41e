"""Only a moderator changes bans, on the running ban-words API: every write without the
moderator token is 401, with a wrong one 403, and neither changes the list; with the token the
write goes through; reads and /health stay open; no token reaches the API's log.

The API must run this checkout's code: after changing it, `pokupai stop banwords-api &&
pokupai up` (the session fixture keeps services that already run).
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from typing import Any

import pytest
from lab_fixture import Lab

from pokupai_lib.bans.app import RESOURCES, BanResource
from pokupai_lib.bans.checks import WRONG_TOKEN, moderator_answers
from pokupai_lib.bans.client import BanApiClient
from pokupai_lib.runtime.moderator_token import read_moderator_token


@pytest.fixture
def moderator(lab: Lab) -> Iterator[BanApiClient]:
    """A client that sends the moderator token (the default)."""
    with BanApiClient(lab.cfg) as client:
        yield client


@pytest.fixture
def anonymous(lab: Lab) -> Iterator[BanApiClient]:
    """A client that sends no credential."""
    with BanApiClient(lab.cfg, credential=None) as client:
        yield client


@pytest.fixture
def term(moderator: BanApiClient) -> Iterator[str]:
    """A term no list holds; lifted from every list afterwards, should a write have passed."""
    term = f"модератор{random.randint(0, 10**9)}"  # noqa: S311 - test data
    yield term
    for res in RESOURCES:
        moderator.remove(term, res.path, res.field).raise_for_status()


def _writes(term: str) -> list[tuple[str, dict[str, Any]]]:
    """Every write route of the API (path under /api/v1, body) for ``term``."""
    return [(f"{res.path}/{action}", body) for res in RESOURCES for action, body in (
        ("add", {res.field: term}), ("bulk-add", {res.bulk_field: [term]}),
        ("remove", {res.field: term}))]


def _listed(client: BanApiClient, res: BanResource, term: str) -> bool:
    answer = client.http.get(f"{client.base}/{res.path}")
    answer.raise_for_status()
    return term in answer.json()[res.bulk_field]


def test_every_write_without_the_token_is_401_and_changes_nothing(
        lab: Lab, anonymous: BanApiClient, term: str) -> None:
    for path, body in _writes(term):
        answer = anonymous.http.post(f"{anonymous.base}/{path}", json=body)
        assert answer.status_code == 401, (path, answer.text)
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json()["detail"] == ("writes need the moderator token: send Authorization: "
                                           f"Bearer $(cat {lab.cfg.paths.moderator_token})")
    assert not any(_listed(anonymous, res, term) for res in RESOURCES)


def test_another_scheme_is_401(anonymous: BanApiClient, term: str) -> None:
    basic = "Basic " + base64.b64encode(b"moderator:moderator").decode()
    answer = anonymous.http.post(f"{anonymous.base}/banned-words/add", json={"word": term},
                                 headers={"Authorization": basic})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert not _listed(anonymous, RESOURCES[0], term)


def test_every_write_with_a_wrong_token_is_403_and_changes_nothing(
        lab: Lab, anonymous: BanApiClient, term: str) -> None:
    with BanApiClient(lab.cfg, credential=WRONG_TOKEN) as guesser:
        for path, body in _writes(term):
            answer = guesser.http.post(f"{guesser.base}/{path}", json=body)
            assert answer.status_code == 403, (path, answer.text)
            assert "not the moderator token" in answer.json()["detail"]
    assert not any(_listed(anonymous, res, term) for res in RESOURCES)


@pytest.mark.parametrize("res", RESOURCES, ids=[res.path for res in RESOURCES])
def test_the_moderator_bans_and_lifts_each_kind(
        moderator: BanApiClient, anonymous: BanApiClient, term: str, res: BanResource) -> None:
    added = moderator.add(term, res.path, res.field)
    assert added.status_code == 200 and added.json()["added"] == [term]
    assert _listed(anonymous, res, term)
    again = moderator.http.post(f"{moderator.base}/{res.path}/bulk-add",
                                json={res.bulk_field: [term]})
    assert again.status_code == 200 and again.json()["already_present"] == [term]
    lifted = moderator.remove(term, res.path, res.field)
    assert lifted.status_code == 200 and lifted.json()["removed"] is True
    assert not _listed(anonymous, res, term)


def test_reads_and_health_need_no_token(lab: Lab, anonymous: BanApiClient) -> None:
    for res in RESOURCES:
        assert anonymous.http.get(f"{anonymous.base}/{res.path}").status_code == 200
    assert anonymous.http.get(f"{lab.cfg.ban_api.url}/health").status_code == 200


def test_the_notebook_s_table_of_callers(lab: Lab) -> None:
    answers = moderator_answers(lab.cfg).set_index("who")
    assert answers["status"].to_dict() == {"anyone": 200, "no token": 401,
                                           "a wrong token": 403, "the moderator": 200}
    assert answers.loc["the moderator", "answer"] == "added [], already present ['бан']"


def test_no_token_reaches_the_api_s_log(lab: Lab, anonymous: BanApiClient,
                                        moderator: BanApiClient, term: str) -> None:
    moderator.add(term).raise_for_status()
    with BanApiClient(lab.cfg, credential=WRONG_TOKEN) as guesser:
        assert guesser.add(term).status_code == 403
    text = lab.cfg.paths.log("banwords-api").read_text(encoding="utf-8", errors="replace")
    assert read_moderator_token(lab.cfg).get_secret_value() not in text
    assert WRONG_TOKEN not in text
