"""``exchange_code`` and ``refresh`` against anything a token endpoint can answer.

Property: a ``TokenSet`` with a non-empty ``str`` access token (and only for a
2xx), or an ``OAuthError`` / ``JiraUnavailable``; never another exception, and
no secret of the request (client secret, code, PKCE verifier, refresh token)
in the exception, its message, arguments or chained causes.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import responses
from hypothesis import given
from hypothesis import strategies as st

from jira_connect.exceptions import JiraConnectError, JiraUnavailable, OAuthError
from jira_connect.oauth import MAX_EXPIRES_IN, TokenSet, exchange_code, refresh
from tests.fuzz.answers import Answer, answers
from tests.fuzz.strategies import characters
from tests.oauth import (
    CLIENT_SECRET,
    CODE,
    CODE_VERIFIER,
    REFRESH_TOKEN,
    TOKEN_URL,
    make_client,
    text_of,
)

EXCHANGE_SECRETS = (CLIENT_SECRET, CODE, CODE_VERIFIER)
REFRESH_SECRETS = (CLIENT_SECRET, REFRESH_TOKEN)

#: Codes and refresh tokens as a callback or the database may hand them over.
odd_credentials = st.text(characters, min_size=1, max_size=60)


def check_tokens(tokens: TokenSet, answer: Answer, before: datetime) -> None:
    assert 200 <= answer.status < 300, f"tokens accepted from an HTTP {answer.status}"
    assert isinstance(tokens.access_token, str)
    assert tokens.access_token
    assert tokens.refresh_token is None or (
        isinstance(tokens.refresh_token, str) and tokens.refresh_token
    )
    assert tokens.token_type == "bearer"
    assert tokens.scope is None or (isinstance(tokens.scope, str) and tokens.scope.strip())
    if tokens.expires_in is None:
        assert tokens.expires_at is None
    else:
        assert isinstance(tokens.expires_in, int)
        assert 0 <= tokens.expires_in <= MAX_EXPIRES_IN
        assert tokens.expires_at is not None
        after = datetime.now(timezone.utc)
        assert before <= tokens.expires_at - timedelta(seconds=tokens.expires_in) <= after


def check_error(err: JiraConnectError, answer: Answer, secrets: tuple[str, ...]) -> None:
    assert isinstance(err, (OAuthError, JiraUnavailable)), type(err)
    if isinstance(err, OAuthError):
        assert answer.status < 500
        assert err.error.strip(), "an OAuthError without an error code"
    shown = text_of(err)
    for secret in secrets:
        assert secret not in shown, f"{secret!r} leaked in {type(err).__name__}: {err}"


@given(answer=answers(EXCHANGE_SECRETS), code=st.one_of(st.just(CODE), odd_credentials))
def test_exchange_code_answers(answer: Answer, code: str) -> None:
    secrets = EXCHANGE_SECRETS if code == CODE else (CLIENT_SECRET, CODE_VERIFIER)
    before = datetime.now(timezone.utc)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        answer.serve(mock, "POST", TOKEN_URL)
        try:
            tokens = exchange_code(make_client(), code, CODE_VERIFIER)
        except JiraConnectError as err:
            check_error(err, answer, secrets)
            return
        assert len(mock.calls) == 1
    check_tokens(tokens, answer, before)


@given(
    answer=answers(REFRESH_SECRETS),
    refresh_token=st.one_of(st.just(REFRESH_TOKEN), odd_credentials),
)
def test_refresh_answers(answer: Answer, refresh_token: str) -> None:
    secrets = REFRESH_SECRETS if refresh_token == REFRESH_TOKEN else (CLIENT_SECRET,)
    before = datetime.now(timezone.utc)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        answer.serve(mock, "POST", TOKEN_URL)
        try:
            tokens = refresh(make_client(), refresh_token)
        except JiraConnectError as err:
            check_error(err, answer, secrets)
            return
        assert len(mock.calls) == 1
    check_tokens(tokens, answer, before)
