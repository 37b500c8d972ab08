"""JSON endpoints for single-page front ends: the same rules as the HTML views, in JSON.

Plain Django views, so no API framework is needed. Each one authenticates
through ``JIRA_CONNECT["API_AUTHENTICATION"]``, applies the tenancy rules of
``tenancy`` exactly as the HTML views do, and answers every error as an
``application/problem+json`` document (``problems``), never as a page.

CSRF: the views are exempt from the middleware so that a failed check can
answer JSON; they run the same check themselves (``CsrfViewMiddleware``'s own)
on every POST whose user is the one the session cookie identifies, because a
cookie is what a forged cross-site request carries. A request authenticated
only by a token (an ``Authorization`` header a browser never adds by itself)
is not checked: nobody can forge it without the token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.http.request import RawPostDataException, UnreadablePostError
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from jira_connect import lifecycle, openapi, overview, problems, tenancy
from jira_connect.conf import app_settings
from jira_connect.exceptions import JiraConnectError
from jira_connect.models import JiraConnection, JiraLink
from jira_connect.redirects import safe_next

logger = logging.getLogger(__name__)
csrf_logger = logging.getLogger("django.security.csrf")

#: What reading a body Django cannot parse (too big, broken multipart, a form in latin-1) raises.
UNREADABLE = (
    BadRequest,
    SuspiciousOperation,
    MultiPartParserError,
    UnreadablePostError,
    RawPostDataException,
    OSError,
)

#: The only key ``api-connect`` accepts in its body.
NEXT_KEY = "next"


def session_user(request: HttpRequest) -> Any:
    """Default ``API_AUTHENTICATION``: the user logged in to the session, or ``None``."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return user


class _CsrfRejected(HttpResponse):
    def __init__(self, reason: str) -> None:
        super().__init__(status=403)
        self.reason = reason


class _CsrfCheck(CsrfViewMiddleware):
    """Django's own CSRF check, telling its reason instead of rendering the HTML failure page."""

    def _reject(self, request: HttpRequest, reason: str) -> HttpResponse:
        csrf_logger.warning("Forbidden (%s): %s", reason, request.path)
        return _CsrfRejected(reason)


def _no_response(request: HttpRequest) -> HttpResponse:  # the check never calls the view
    return HttpResponse()


def csrf_failure(request: HttpRequest) -> str | None:
    """Why the request fails Django's CSRF check, or ``None`` when it passes."""
    check = _CsrfCheck(_no_response)
    check.process_request(request)
    rejected = check.process_view(request, _no_response, (), {})
    if rejected is None:
        return None
    return getattr(rejected, "reason", None) or _("CSRF verification failed.")


class ApiView(View):
    """What every endpoint shares: JSON errors, authentication, CSRF, no caching.

    ``login_required``: whether the endpoint needs a user (the schema does not).
    """

    login_required = True
    #: Whether the session cookie alone authenticates this request (then CSRF applies).
    by_session = False

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponseBase]:
        # Exempt from the middleware's check so that a failure answers JSON: dispatch() runs
        # the same check itself.
        return csrf_exempt(never_cache(super().as_view(**initkwargs)))

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        method = (request.method or "").lower()
        if method not in self.http_method_names or not hasattr(self, method):
            return self.http_method_not_allowed(request, *args, **kwargs)
        if self.login_required:
            user = app_settings.API_AUTHENTICATION(request)
            if user is None or not getattr(user, "is_authenticated", False):
                return problems.response(
                    problems.NOT_AUTHENTICATED,
                    _("Log in first: this endpoint acts for a logged-in user."),
                )
            self.by_session = _session_identifies(request, user)
            if method not in ("get", "head") and self.by_session:
                try:
                    # The body first: the check may parse it as a form, after which it could
                    # no longer be read as JSON.
                    request.body  # noqa: B018
                    reason = csrf_failure(request)
                except UNREADABLE:
                    return problems.response(
                        problems.INVALID_BODY, _("The request body could not be read.")
                    )
                if reason is not None:
                    return problems.response(
                        problems.CSRF_FAILED,
                        _("%(reason)s Send the csrftoken cookie's value in the X-CSRFToken header.")
                        % {"reason": reason},
                    )
            request.user = user
        return super().dispatch(request, *args, **kwargs)

    def http_method_not_allowed(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        allowed = ", ".join(self._allowed_methods())
        return problems.response(
            problems.METHOD_NOT_ALLOWED,
            _("This endpoint answers %(allowed)s only.") % {"allowed": allowed},
            Allow=allowed,
        )

    def _allowed_methods(self) -> list[str]:
        return [m.upper() for m in self.http_method_names if hasattr(self, m)]


def _session_identifies(request: HttpRequest, user: Any) -> bool:
    """Whether the session cookie alone would make this request act as ``user``."""
    session = session_user(request)
    return session is not None and session.pk == user.pk


def not_found() -> HttpResponse:
    # The same answer for a slug that does not exist and for another tenant's link.
    return problems.response(problems.NOT_FOUND, _("No such Jira link."))


def link_json(row: overview.LinkRow) -> dict[str, Any]:
    link = row.link
    return {
        "slug": link.slug,
        "name": link.name,
        "base_url": link.base_url,
        "connect_url": reverse("jira_connect:api-connect", args=[link.slug]),
        "disconnect_url": reverse("jira_connect:api-disconnect", args=[link.slug]),
        "connection": None if row.connection is None else connection_json(row, row.connection),
    }


def connection_json(row: overview.LinkRow, connection: JiraConnection) -> dict[str, Any]:
    """A connection as the front end sees it: status and identity, never a token."""
    reason = row.reconnect_reason
    return {
        "status": connection.status,
        "needs_reconnect": reason is not None,
        "reconnect_reason": reason,
        "reconnect_message": row.reconnect_message,
        "jira": {
            "key": connection.jira_key,
            "name": connection.jira_name,
            "display_name": connection.jira_display_name,
        },
        "scope": connection.scope,
        "connected_since": connection.created_at,
        "last_refreshed": connection.last_refreshed_at,
    }


class LinksView(ApiView):
    """GET: every link the user may use, with their connection on each (or ``null``).

    Also hands out the CSRF token the POST endpoints need with a session: as
    the ``csrftoken`` cookie, and in the body for a front end that cannot read
    that cookie (``CSRF_COOKIE_HTTPONLY``, or served from another origin).
    """

    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest) -> HttpResponse:
        rows = overview.link_rows(request)
        token = get_token(request) if self.by_session else None
        return JsonResponse({"links": [link_json(row) for row in rows], "csrf_token": token})


class ConnectView(ApiView):
    """POST: start the same flow as the HTML ``connect`` and answer Jira's authorise URL."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        link = tenancy.link_for_request(request, slug)
        if link is None:
            return not_found()
        body = _json_object(request)
        if isinstance(body, HttpResponse):
            return body
        next_url = body.get(NEXT_KEY) or ""
        if next_url and not safe_next(request, next_url):
            return problems.response(
                problems.INVALID_NEXT,
                _("next must be a path or URL on this site (%(host)s).")
                % {"host": request.get_host()},
            )
        return self.start(request, link, next_url)

    def start(self, request: HttpRequest, link: JiraLink, next_url: str) -> HttpResponse:
        try:
            authorize_url = lifecycle.start_connection(request, link, next_url, from_api=True)
        except JiraConnectError as err:
            logger.warning("Cannot start a connection on link %s: %s", link.slug, err)
            return problems.response(
                problems.LINK_MISCONFIGURED,
                _("This Jira link is not set up correctly. Please tell your administrator."),
            )
        return JsonResponse({"authorize_url": authorize_url})


class DisconnectView(ApiView):
    """POST: forget the user's connection on the link; 204 whether there was one or not."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        link = tenancy.link_for_request(request, slug)
        if link is None:
            return not_found()
        connection = JiraConnection.objects.filter(
            link=link, user_id=tenancy.user_key(request.user)
        ).first()
        if connection is not None:
            lifecycle.disconnect(connection)
        return HttpResponse(status=204)


class SchemaView(ApiView):
    """GET: the OpenAPI 3.1 document of these endpoints (public: it holds no user data)."""

    http_method_names = ["get", "head"]
    login_required = False

    def get(self, request: HttpRequest) -> HttpResponse:
        return JsonResponse(openapi.document(), json_dumps_params={"indent": 2})


class NotFoundView(ApiView):
    """Any other path under ``api/``: a problem document, not the site's HTML 404 page."""

    http_method_names = ["get", "head", "post", "put", "patch", "delete", "options"]
    login_required = False

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return problems.response(problems.NOT_FOUND, _("No such endpoint."))


def _json_object(request: HttpRequest) -> dict[str, Any] | HttpResponse:
    """The body as a JSON object (empty body: ``{}``), or the problem to answer instead."""
    try:
        raw = request.body
    except UNREADABLE:
        return problems.response(problems.INVALID_BODY, _("The request body could not be read."))
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return problems.response(problems.INVALID_BODY, _("The body is not valid JSON."))
    if not isinstance(body, dict):
        return problems.response(problems.INVALID_BODY, _("The body must be a JSON object."))
    unknown = sorted(key for key in body if key != NEXT_KEY)
    if unknown:
        return problems.response(
            problems.INVALID_BODY,
            _("Unknown key in the body: %(key)s.") % {"key": unknown[0][:50]},
        )
    if not isinstance(body.get(NEXT_KEY, ""), str):
        return problems.response(problems.INVALID_BODY, _("next must be a string."))
    return body
