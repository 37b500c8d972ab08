"""Bugs these fuzzers found that are not ours to fix: two upstream in Django.

(The seven they found in jira_connect are fixed; ``test_regressions.py`` keeps
one test each.) The fuzz tests skip (``hypothesis.reject``) an example only
when it fails in exactly the way one of these bugs does, so they go on hunting
for new ones; each also has a strict ``xfail`` regression test that starts
passing, and so fails the suite, once Django fixes it.
"""

from __future__ import annotations

from django.http.multipartparser import MultiPartParserError
from hypothesis import event, reject

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


def skip_if_known_django_crash(err: BaseException) -> None:
    """For an exception that escaped Django's own error handlers (the client re-raises it)."""
    if "'application/x-www-form-urlencoded' content type must be UTF-8 encoded" in str(err):
        event(f"known bug: {DJANGO_URLENCODED_CHARSET}")
        reject()
    if isinstance(err, MultiPartParserError):  # handled (a 400) unless raised in a handler
        event(f"known bug: {DJANGO_MULTIPART}")
        reject()
