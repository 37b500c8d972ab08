"""No secret reaches a log, an exception or an error report, even with every logger at DEBUG."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import requests_oauthlib
import responses

from jira_connect._logging import REDACTED, REDACTED_LOGGERS, RedactArguments
from jira_connect.exceptions import JiraConnectError, JiraUnavailable, OAuthError
from jira_connect.oauth import (
    exchange_code,
    fetch_identity,
    probe_client_credentials,
    refresh,
    start_authorization,
)

from . import (
    ACCESS_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    CODE,
    CODE_VERIFIER,
    FIXTURE_ACCESS_TOKEN,
    MYSELF_URL,
    REDIRECT_URI,
    REFRESH_TOKEN,
    TOKEN_URL,
    assert_no_secret,
    make_client,
    replay,
    text_of,
)


@pytest.fixture
def everything_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Root and every existing logger at DEBUG, enabled and propagating; caplog captures it all."""
    # Make sure the loggers of every library on the path exist before we turn them up.
    import oauthlib.oauth2  # noqa: F401
    import requests_oauthlib.oauth1_auth
    import requests_oauthlib.oauth1_session
    import requests_oauthlib.oauth2_session  # noqa: F401
    import urllib3  # noqa: F401

    saved = []
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        saved.append((logger, logger.level, logger.disabled, logger.propagate))
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        logger.propagate = True
    caplog.set_level(logging.DEBUG)
    try:
        yield caplog
    finally:
        for logger, level, disabled, propagate in saved:
            logger.setLevel(level)
            logger.disabled = disabled
            logger.propagate = propagate


def _assert_clean(caplog: pytest.LogCaptureFixture) -> None:
    assert_no_secret(caplog.text)
    for record in caplog.records:
        assert_no_secret(record.getMessage())
        assert_no_secret(repr(record.args))
        assert_no_secret(str(record.msg))


def test_nothing_secret_is_logged_by_a_whole_flow(
    rsps: responses.RequestsMock, everything_at_debug: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    log = logging.getLogger("tests.oauth.caller")

    start_authorization(client)
    replay(rsps, "token_success")
    exchange_code(client, CODE, CODE_VERIFIER)
    refresh(client, REFRESH_TOKEN)
    replay(rsps, "myself")
    fetch_identity(client, ACCESS_TOKEN)

    failures: list[JiraConnectError] = []
    rsps.reset()
    # Jira echoing what it was sent in its error description.
    rsps.add(
        responses.POST,
        TOKEN_URL,
        status=400,
        json={
            "error": "invalid_grant",
            "error_description": f"bad code {CODE} ({CODE_VERIFIER}) for {CLIENT_SECRET}",
        },
    )
    with pytest.raises(OAuthError) as caught:
        exchange_code(client, CODE, CODE_VERIFIER)
    failures.append(caught.value)
    rsps.reset()
    rsps.add(
        responses.POST,
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": f"bad token {REFRESH_TOKEN}"},
    )
    with pytest.raises(OAuthError) as caught:
        refresh(client, REFRESH_TOKEN)
    failures.append(caught.value)
    rsps.reset()
    rsps.add(responses.POST, TOKEN_URL, body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(JiraUnavailable) as unavailable:
        refresh(client, REFRESH_TOKEN)
    failures.append(unavailable.value)
    rsps.add(responses.GET, MYSELF_URL, status=401, json={"message": "no"})
    with pytest.raises(JiraConnectError) as rejected:
        fetch_identity(client, ACCESS_TOKEN)
    failures.append(rejected.value)
    rsps.add(responses.POST, TOKEN_URL, status=401, json={"error": "invalid_client"})
    probe_client_credentials(client)

    # A caller that logs the failures with their tracebacks still leaks nothing.
    for failure in failures:
        log.exception("Jira call failed", exc_info=failure)
        log.warning("Jira call failed: %s (%r)", failure, failure.args)
        assert_no_secret(text_of(failure))

    assert caplog_has_records(everything_at_debug)
    _assert_clean(everything_at_debug)


def caplog_has_records(caplog: pytest.LogCaptureFixture) -> bool:
    names = {record.name for record in caplog.records}
    return "jira_connect.oauth" in names and "tests.oauth.caller" in names


def test_requests_oauthlib_is_redacted_when_someone_else_uses_it(
    rsps: responses.RequestsMock, everything_at_debug: pytest.LogCaptureFixture
) -> None:
    # Other code in the process using OAuth2Session directly: its DEBUG records
    # carry the request body and the tokens; the filter removes them.
    replay(rsps, "token_success")
    session = requests_oauthlib.OAuth2Session(
        CLIENT_ID, redirect_uri=REDIRECT_URI, token=None, pkce="S256"
    )
    session.authorization_url("https://jira.example.com/jira/rest/oauth2/latest/authorize")
    token = session.fetch_token(
        TOKEN_URL, code=CODE, client_secret=CLIENT_SECRET, include_client_id=True
    )
    assert token["access_token"] == FIXTURE_ACCESS_TOKEN
    rsps.add(responses.GET, MYSELF_URL, json={"key": "K"})
    session.get(MYSELF_URL)
    session.refresh_token(TOKEN_URL, refresh_token=REFRESH_TOKEN, client_secret=CLIENT_SECRET)

    records = [r for r in everything_at_debug.records if r.name.startswith("requests_oauthlib")]
    assert len(records) > 5
    assert any(REDACTED in record.getMessage() for record in records)
    # Status codes survive the redaction.
    assert any(record.getMessage().endswith("status 200.") for record in records)
    _assert_clean(everything_at_debug)


def test_filter_is_installed_once_on_exactly_those_loggers() -> None:
    from jira_connect._logging import install_redaction_filters

    install_redaction_filters()
    install_redaction_filters()
    for name in REDACTED_LOGGERS:
        filters = [f for f in logging.getLogger(name).filters if isinstance(f, RedactArguments)]
        assert len(filters) == 1
    assert not any(isinstance(f, RedactArguments) for f in logging.getLogger().filters)


def test_filter_keeps_numbers_and_redacts_the_rest() -> None:
    record = logging.LogRecord(
        "x", logging.DEBUG, __file__, 1, "%s %s %s %s", (200, 1.5, None, "secret"), None
    )
    assert RedactArguments().filter(record)
    assert record.getMessage() == f"200 1.5 None {REDACTED}"
    record = logging.LogRecord(
        "x", logging.DEBUG, __file__, 1, "%(a)s %(b)s", ({"a": 1, "b": {"t": 2}},), None
    )
    RedactArguments().filter(record)
    assert record.getMessage() == f"1 {REDACTED}"
    record = logging.LogRecord("x", logging.DEBUG, __file__, 1, {"token": "secret"}, None, None)
    RedactArguments().filter(record)
    assert record.getMessage() == REDACTED


def test_a_dictconfig_that_names_the_logger_keeps_the_filter() -> None:
    import logging.config

    name = REDACTED_LOGGERS[0]
    logger = logging.getLogger(name)
    level, handlers = logger.level, logger.handlers[:]
    try:
        logging.config.dictConfig(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "incremental": False,
                "loggers": {name: {"level": "DEBUG"}},
            }
        )
        assert any(isinstance(f, RedactArguments) for f in logger.filters)
    finally:
        logger.setLevel(level)
        logger.handlers[:] = handlers


def test_error_reports_hide_the_secret_locals(rsps: responses.RequestsMock) -> None:
    from django.conf import settings

    if not settings.configured:
        pytest.skip("needs Django settings (runs in the full suite)")

    rsps.add(responses.POST, TOKEN_URL, body=requests.exceptions.ConnectionError("refused"))
    rsps.add(responses.GET, MYSELF_URL, status=401, json={"message": "no"})
    client = make_client()
    calls: list[Any] = [
        lambda: exchange_code(client, CODE, CODE_VERIFIER),
        lambda: refresh(client, REFRESH_TOKEN),
        lambda: fetch_identity(client, ACCESS_TOKEN),
        lambda: probe_client_credentials(client),
    ]
    for call in calls:
        html = _error_report(call)
        assert "********************" in html  # locals were rendered, and cleansed
        assert_no_secret(html)


def _error_report(call: Any) -> str:
    """Django's HTML error report for what ``call`` raises (from a frame that holds no secret)."""
    from django.views.debug import ExceptionReporter

    with pytest.raises(JiraConnectError) as caught:
        call()
    err = caught.value
    return ExceptionReporter(None, type(err), err, err.__traceback__).get_traceback_html()
