"""Where the browser goes when a flow ends: a safe ``next``, with the outcome for front ends.

The HTML flow reports its outcome with Django's messages framework. A flow
started through the JSON API (``api-connect``) belongs to a single-page front
end that does not read those messages, so the callback sends the browser back
to the front end's own ``next`` with the outcome in the query string instead:

``?jira_connect=connected|denied|error&jira_connect_link=<slug>`` and, on an
error, ``&jira_connect_error=<code>`` (one of ``ERRORS``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.utils.http import url_has_allowed_host_and_scheme

if TYPE_CHECKING:
    from django.http import HttpRequest

OUTCOME_PARAM = "jira_connect"
LINK_PARAM = "jira_connect_link"
ERROR_PARAM = "jira_connect_error"

CONNECTED = "connected"
DENIED = "denied"
ERROR = "error"

#: Error codes a front end may see in ``jira_connect_error``.
ERRORS = (
    "no_code",  # Jira came back without a code
    "invalid_scope",  # Jira refused the scope the link asks for
    "refused",  # Jira answered another OAuth error on the consent page
    "invalid_client",  # Jira did not accept the link's client ID and secret
    "invalid_grant",  # the code expired or the Redirect URL does not match
    "exchange_failed",  # another error from the token endpoint
    "unavailable",  # Jira did not answer, or answered garbage
    "not_recognised",  # Jira did not recognise the user with the new token
    "access_lost",  # the link is no longer available to the user
    "misconfigured",  # the link's own configuration is broken
)


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """``candidate`` if it is a safe place to send the user afterwards, else ""."""
    if not candidate:
        return ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def with_outcome(url: str, outcome: str, slug: str, error: str = "") -> str:
    """``url`` with the outcome parameters set (replacing any already there), fragment kept.

    A front end that routes with the fragment (``/app/#/settings``) still gets
    them in the query string, where ``URLSearchParams(location.search)`` reads them.
    """
    parts = urlsplit(url)
    ours = {OUTCOME_PARAM, LINK_PARAM, ERROR_PARAM}
    params = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key not in ours
    ]
    params += [(OUTCOME_PARAM, outcome), (LINK_PARAM, slug)]
    if error:
        params.append((ERROR_PARAM, error))
    return urlunsplit(parts._replace(query=urlencode(params)))
