"""Keep third-party OAuth libraries from writing secrets to the logs.

requests-oauthlib logs, at DEBUG, the prepared token request body (client
secret, authorization code, PKCE verifier, refresh token), the token response
and the token it adds to each request. ``jira_connect.oauth`` never goes
through those code paths, but other code in the process may (the host site's
own integrations, or a future part of this app), and a site that turns every
logger up to DEBUG would then write those secrets to its logs.

``install_redaction_filters()`` puts a filter on exactly the loggers that emit
those records. A filter on a logger runs before the record reaches any
handler, including the handlers of its ancestors (root included), so nothing
downstream ever sees the arguments. The filter keeps the message template
(constant text in those libraries) and numbers such as status codes, and
replaces every other argument with a placeholder.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted by django-jira-connect]"

#: Every requests-oauthlib module that calls its logger with request bodies,
#: tokens, headers or responses as arguments (requests-oauthlib 2.0). oauthlib
#: itself logs nothing on the client side.
REDACTED_LOGGERS = (
    "requests_oauthlib.oauth2_session",
    "requests_oauthlib.oauth1_session",
    "requests_oauthlib.oauth1_auth",
)


class RedactArguments(logging.Filter):
    """Replace every argument of a record except plain numbers with ``REDACTED``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.msg, str):
            record.msg = REDACTED
        if record.args:
            record.args = _redact(record.args)
        return True


def _redact(args: tuple[object, ...] | Mapping[str, object]) -> Any:
    if isinstance(args, Mapping):
        return {key: _redact_one(value) for key, value in args.items()}
    return tuple(_redact_one(value) for value in args)


def _redact_one(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return REDACTED


def install_redaction_filters() -> None:
    """Install the filter on each logger of ``REDACTED_LOGGERS``, once (idempotent)."""
    for name in REDACTED_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(existing, RedactArguments) for existing in target.filters):
            target.addFilter(RedactArguments())
