"""Token answers at their edges: lifetimes at the limits, what the logs and errors say exactly."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import responses

from jira_connect.exceptions import JiraUnavailable, OAuthError
from jira_connect.oauth import MAX_EXPIRES_IN

from . import CLIENT_SECRET, TOKEN_URL
from .test_token import _answer, _exchange, _refresh, _unavailable

UNUSABLE = "Ignored an unusable expires_in in Jira's token response"


@pytest.mark.parametrize(
    ("expires_in", "expected"),
    [
        (MAX_EXPIRES_IN, MAX_EXPIRES_IN),
        (str(MAX_EXPIRES_IN), MAX_EXPIRES_IN),
        (float(MAX_EXPIRES_IN), MAX_EXPIRES_IN),
        ("0", 0),
        (0.0, 0),
        (0.5, 0),
        (MAX_EXPIRES_IN + 1, None),
        (str(MAX_EXPIRES_IN + 1), None),
        ("-5", None),
        (-0.5, None),
        ("inf", None),
        (" 60 ", 60),
    ],
)
def test_lifetimes_at_the_limits(rsps, caplog, expires_in: Any, expected: int | None) -> None:
    _answer(rsps, {"access_token": "a", "token_type": "bearer", "expires_in": expires_in})
    with caplog.at_level(logging.WARNING, logger="jira_connect.oauth"):
        tokens = _exchange()
    assert tokens.expires_in == expected
    warned = [record.getMessage() for record in caplog.records]
    assert warned == ([] if expected is not None else [UNUSABLE])


@pytest.mark.parametrize(
    ("refresh_token", "warned"),
    [("r-1", False), (None, False), ("", True), (42, True)],
)
def test_an_unusable_refresh_token_is_logged(rsps, caplog, refresh_token, warned) -> None:
    payload: dict[str, Any] = {"access_token": "a", "token_type": "bearer"}
    if refresh_token is not None:
        payload["refresh_token"] = refresh_token
    _answer(rsps, payload)
    with caplog.at_level(logging.WARNING, logger="jira_connect.oauth"):
        tokens = _refresh()
    assert tokens.refresh_token == (refresh_token if refresh_token == "r-1" else None)
    messages = [record.getMessage() for record in caplog.records]
    expected = ["Ignored an empty or non-string refresh_token in Jira's token response"]
    assert messages == (expected if warned else [])


def test_the_token_call_is_logged_for_debugging(rsps, caplog) -> None:
    _answer(rsps, {"access_token": "a", "token_type": "bearer"})
    with caplog.at_level(logging.DEBUG, logger="jira_connect.oauth"):
        _refresh()
    assert [r.getMessage() for r in caplog.records if r.name == "jira_connect.oauth"] == [
        f"Requesting tokens from {TOKEN_URL} (grant_type=refresh_token)",
        "Jira's token endpoint answered HTTP 200",
    ]


def test_a_300_answer_is_a_redirect(rsps) -> None:
    rsps.add(responses.POST, TOKEN_URL, status=300, headers={"Location": "https://elsewhere/"})
    err = _unavailable()
    assert err.status_code == 300
    assert str(err).startswith("Jira redirected the token request (HTTP 300)")


def test_a_200_without_a_token_or_details_says_just_that(rsps) -> None:
    _answer(rsps, {"token_type": "bearer"})
    assert (
        str(_unavailable()) == "Jira answered the token request with HTTP 200 but no access token"
    )


def test_a_long_error_code_is_cut_short(rsps) -> None:
    _answer(rsps, {"error": "x" * 150}, status=400)
    with pytest.raises(OAuthError) as info:
        _refresh()
    assert info.value.error == "x" * 99 + "…"


def test_an_error_code_or_detail_that_echoes_the_secret_is_scrubbed(rsps) -> None:
    _answer(rsps, {"error": f"bad_{CLIENT_SECRET}"}, status=400)
    with pytest.raises(OAuthError) as info:
        _refresh()
    assert CLIENT_SECRET not in info.value.error
    rsps.replace(
        responses.POST, TOKEN_URL, json={"message": f"no {CLIENT_SECRET} here"}, status=500
    )
    assert CLIENT_SECRET not in str(_unavailable())


def test_another_token_type_is_named_and_cut_short(rsps) -> None:
    _answer(rsps, {"access_token": "a", "token_type": "m" * 60})
    with pytest.raises(JiraUnavailable) as info:
        _exchange()
    assert str(info.value) == f"Jira issued a token of type '{'m' * 39}…', not a bearer token."
    assert info.value.status_code == 200


def test_a_token_type_that_echoes_the_token_is_scrubbed(rsps) -> None:
    token = "access-token-ACC3SS-echoed"
    _answer(rsps, {"access_token": token, "token_type": f"mac {token}"})
    with pytest.raises(JiraUnavailable) as info:
        _exchange()
    assert token not in str(info.value)


def test_a_token_type_that_echoes_the_client_secret_is_scrubbed(rsps) -> None:
    _answer(rsps, {"access_token": "tok-123", "token_type": f"mac {CLIENT_SECRET}"})
    with pytest.raises(JiraUnavailable) as info:
        _refresh()
    assert CLIENT_SECRET not in str(info.value)
    assert "mac" in str(info.value)


def test_the_sites_session_hook_shapes_the_token_request(rsps) -> None:
    """CONFIGURE_SESSION reaches the token call's session (as it does every other call's)."""
    import requests

    def configure(session: requests.Session) -> None:
        session.headers["X-Site"] = "token"

    _answer(rsps, {"access_token": "a", "token_type": "bearer", "expires_in": 60})
    _refresh(configure_session=configure)
    assert rsps.calls[0].request.headers["X-Site"] == "token"
