"""Bugs these fuzzers found, reported and not fixed yet: seven in ``jira_connect``, two upstream
in Django.

The fuzz tests skip (``hypothesis.reject``) an example only when it fails in
exactly the way one of these bugs does, so they go on hunting for new ones;
each bug also has a strict ``xfail`` regression test in ``test_regressions.py``
that starts passing, and so fails the suite, once the bug is fixed. Then
delete the bug here and its ``xfail`` marker there.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from django.http.multipartparser import MultiPartParserError
from hypothesis import event, reject

from tests.fuzz.answers import Answer

#: ``_http.json_object`` catches ValueError only; ``json.loads`` raises RecursionError on deep
#: nesting (jira_connect/_http.py:212). Any answer body nested ~1000 levels deep escapes.
DEEP_JSON = "RecursionError from a deeply nested JSON body"
#: A 3xx whose Location cannot be parsed (``http://[x``) or is not UTF-8 (byte 0x80) raises
#: ValueError / UnicodeDecodeError, not ``requests.RequestException``: from requests' own
#: ``resolve_redirects``, which ``Session.send`` runs even with ``allow_redirects=False``
#: (``_http.send``, jira_connect/_http.py:74, catches only RequestException), and from
#: ``_http.describe_redirect``'s ``urlsplit(urljoin(...))`` (jira_connect/_http.py:242).
BAD_LOCATION = "ValueError from the Location header of a 3xx"
#: ``_http._read_bounded`` checks ``str.isdigit()`` and then ``int()``: "²" (byte 0xB2) is a digit
#: to the first and not to the second (jira_connect/_http.py:100).
CONTENT_LENGTH = "ValueError from a Content-Length that isdigit() but int() refuses"
#: ``oauth._expires_in`` calls ``math.isfinite`` on an int above float range
#: (jira_connect/oauth.py:544).
HUGE_EXPIRES_IN = "OverflowError from an integer expires_in above 1.8e308"
#: ``oauth._token_set`` shows a non-bearer ``token_type`` with ``clean_text`` but no ``redact``
#: (jira_connect/oauth.py:511).
TOKEN_TYPE_LEAK = "a secret echoed in token_type shown in JiraUnavailable"
#: ``_parse_token_response`` checks ``error.strip()`` (jira_connect/oauth.py:486) and then shows
#: ``clean_text(error)`` (oauth.py:489), which turns control characters into spaces and strips:
#: ``{"error": "\u0000"}`` raises ``OAuthError("")``, an OAuth error without a code.
BLANK_OAUTH_ERROR = "OAuthError with an empty error code (error of control characters only)"
#: ``JiraLink.clean`` normalises the base URL even after its validator refused it, and
#: ``normalize_base_url`` lets urlsplit's ValueError out (jira_connect/models.py:135,
#: jira_connect/validators.py:32).
ADMIN_BASE_URL = "ValueError from JiraLink.clean on a base URL urlsplit refuses"
#: Upstream, in Django (5.0+, here 5.2): a POST declaring ``application/x-www-form-urlencoded``
#: with a charset other than exactly "utf-8" (``charset=latin-1``, ``charset=utf8``) makes
#: ``request.POST`` raise BadRequest (django/http/request.py, ``_load_post_and_files``) without
#: marking the body as unparsable. CsrfViewMiddleware reads ``request.POST`` for the token; the
#: BadRequest becomes a 400, whose handler ``bad_request`` is wrapped in ``requires_csrf_token``,
#: which reads ``request.POST`` again, and so does ``server_error``'s: the exception escapes every
#: handler and the WSGI server answers 500. Any user with a CSRF cookie can do this to any POST
#: view, these included; jira_connect cannot prevent it (a site can, with a ``handler400``
#: that is not wrapped in ``requires_csrf_token``).
DJANGO_URLENCODED_CHARSET = "BadRequest escaping Django's error handlers (non-UTF-8 form charset)"
#: Upstream, in Django: a POST with a malformed multipart body (``multipart/form-data`` without a
#: boundary) that Django answers with its own error handler before CsrfViewMiddleware has parsed
#: the body: a URL that resolves to no view (``POST /jira/:/connect/``, ":" not being a slug
#: character: ``page_not_found``) or a Host not in ALLOWED_HOSTS (``bad_request``). Those
#: handlers are wrapped in ``requires_csrf_token``, which parses the body; the
#: MultiPartParserError raised inside the handler becomes a 500. (On a resolvable URL with a valid
#: Host, CsrfViewMiddleware parses first and the error is a 400.)
DJANGO_MULTIPART = "MultiPartParserError in Django's 400/404 handlers (malformed multipart POST)"


def _urlsplit_fails(url: str) -> bool:
    try:
        urlsplit(url)
    except ValueError:
        return True
    return False


def _location_fails(url: str, location: str) -> bool:
    """Whether requests or ``describe_redirect`` choke on this Location (UTF-8, then URL)."""
    try:
        location.encode("latin-1").decode("utf-8")
        urlsplit(urljoin(url, location))
    except ValueError:  # UnicodeEncodeError and UnicodeDecodeError included
        return True
    return False


def crash_of(err: BaseException, answer: Answer, url: str) -> str | None:
    """The known bug a non-app exception from an outbound call is, or None."""
    if isinstance(err, RecursionError):
        return DEEP_JSON
    if isinstance(err, OverflowError) and 200 <= answer.status < 300:
        return HUGE_EXPIRES_IN
    if isinstance(err, ValueError):
        declared = answer.headers.get("Content-Length", "").strip()
        if declared.isdigit() and not declared.isascii() and "int()" in str(err):
            return CONTENT_LENGTH
        location = answer.headers.get("Location", "")
        if 300 <= answer.status < 400 and location and _location_fails(url, location):
            return BAD_LOCATION
    return None


def skip_if_known_crash(err: BaseException, answer: Answer, url: str) -> None:
    bug = crash_of(err, answer, url)
    if bug is not None:
        event(f"known bug: {bug}")
        reject()


def skip_if_known_leak(err: BaseException, secret: str) -> None:
    if str(err).startswith("Jira issued a token of type"):
        event(f"known bug: {TOKEN_TYPE_LEAK}")
        reject()


def skip_if_known_blank_error(err: BaseException) -> None:
    if getattr(err, "error", None) == "":
        event(f"known bug: {BLANK_OAUTH_ERROR}")
        reject()


def skip_if_known_admin_crash(err: BaseException, base_url: str) -> None:
    if isinstance(err, ValueError) and _urlsplit_fails(base_url.strip()):
        event(f"known bug: {ADMIN_BASE_URL}")
        reject()


def skip_if_known_django_crash(err: BaseException) -> None:
    """For an exception that escaped Django's own error handlers (the client re-raises it)."""
    if "'application/x-www-form-urlencoded' content type must be UTF-8 encoded" in str(err):
        event(f"known bug: {DJANGO_URLENCODED_CHARSET}")
        reject()
    if isinstance(err, MultiPartParserError):  # handled (a 400) unless raised in a handler
        event(f"known bug: {DJANGO_MULTIPART}")
        reject()
