"""The user's pages: connections, connect, callback, disconnect.

Thin on purpose: parse the request, check access through ``tenancy``, call
``lifecycle``, render. Every failure a user can cause (or Jira can) ends in
a page or a message with a 4xx/5xx-that-is-not-500 status, and stores nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.debug import sensitive_variables
from django.views.generic import TemplateView

from jira_connect import lifecycle, notices, overview, redirects, state, tenancy
from jira_connect.exceptions import (
    InvalidOAuthState,
    JiraAPIError,
    JiraAuthenticationFailed,
    JiraConnectError,
    JiraUnavailable,
    LinkAccessDenied,
    OAuthError,
)
from jira_connect.models import JiraConnection, JiraLink
from jira_connect.redirects import safe_next

logger = logging.getLogger(__name__)
security_logger = logging.getLogger("django.security.InvalidOAuthState")

#: Longest text from Jira's error parameters shown back to the user.
MAX_ERROR_TEXT = 200

#: What every page of the user's flow is wrapped in: never cached (each shows the user's own
#: connections or a one-time form) and never framed (a framed Connect or Disconnect button
#: invites clickjacking).
USER_PAGE = [never_cache, xframe_options_deny]


def get_available_link(request: HttpRequest, slug: str) -> JiraLink:
    """The link, or 404: another tenant's link looks exactly like a missing one."""
    link = tenancy.link_for_request(request, slug)
    if link is None:
        raise Http404(_("No such Jira link."))
    return link


def render_error(
    request: HttpRequest, title: str, message: str, *, status: int, link: JiraLink | None = None
) -> HttpResponse:
    context = {"title": title, "message": message, "link": link}
    return render(request, "jira_connect/error.html", context, status=status)


@method_decorator(USER_PAGE, name="dispatch")
class ConnectionsView(LoginRequiredMixin, TemplateView):
    """Every link the user may use, with its connection status and buttons."""

    template_name = "jira_connect/connections.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        links = tenancy.available_links(self.request)
        mine = tenancy.user_connections(self.request)
        context["rows"] = overview.link_rows(self.request, links)
        # Connections on links staff turned off: say so rather than let them vanish.
        available = {link.pk for link in links}
        tenant = tenancy.resolve_tenant(self.request)
        context["unavailable"] = [
            connection
            for connection in mine.by_link.values()
            if connection.link_id not in available
            and not connection.link.is_active
            and tenancy.tenant_may_use(tenant, connection.link)
        ]
        return context


@method_decorator(USER_PAGE, name="dispatch")
class ConnectView(LoginRequiredMixin, View):
    """GET: a confirmation page. POST (CSRF-protected): off to Jira's consent page."""

    template_name = "jira_connect/connect.html"

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        link = get_available_link(request, slug)
        connection = (
            JiraConnection.objects.filter(link=link, user_id=tenancy.user_key(request.user))
            .defer("access_token", "refresh_token")
            .first()
        )
        context = {
            "link": link,
            "connection": connection,
            "next": safe_next(request, request.GET.get("next")),
        }
        return render(request, self.template_name, context)

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        link = get_available_link(request, slug)
        next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
        try:
            authorize_url = lifecycle.start_connection(request, link, next_url)
        except JiraConnectError as err:
            logger.warning("Cannot start a connection on link %s: %s", link.slug, err)
            return render_error(
                request,
                _("Cannot connect to %(link)s") % {"link": link.name},
                _("This Jira link is not set up correctly. Please tell your administrator."),
                status=503,
                link=link,
            )
        return HttpResponseRedirect(authorize_url)


@method_decorator(USER_PAGE, name="dispatch")
class CallbackView(LoginRequiredMixin, View):
    """Where Jira sends the user back: the one Redirect URL of every link.

    A flow started from the HTML pages ends on a page or with a message; one
    started through the JSON API ends back on its front end's ``next``, with
    the outcome in the query string (``redirects.with_outcome``).
    """

    @method_decorator(sensitive_variables())
    def get(self, request: HttpRequest) -> HttpResponse:
        params = request.GET
        try:
            pending = state.take(request.session, params.get("state", ""), request.user.pk)
        except InvalidOAuthState as err:
            # No trustworthy flow, so no trustworthy place to send the browser back to.
            replayed = self.already_connected(request, params.get("state", ""))
            if replayed is not None:
                return replayed
            security_logger.warning("Refused a Jira callback for user %s: %s", request.user.pk, err)
            return render_error(request, _("Connection failed"), str(err), status=400)

        link = JiraLink.objects.filter(pk=pending.link_id).first()
        error = params.get("error", "")
        if error:
            return self.jira_refused(
                request, pending, link, error, params.get("error_description", "")
            )
        code = params.get("code", "")
        if not code:
            return self.failed(
                request,
                pending,
                link,
                "no_code",
                _("Jira sent you back without an authorisation code. Please try again."),
                status=400,
            )
        try:
            connection, created = lifecycle.complete_connection(request, pending, code, link)
        except LinkAccessDenied:
            return self.failed(
                request,
                pending,
                link,
                "access_lost",
                _("This Jira link is no longer available to you."),
                status=403,
                show_link=False,
            )
        except OAuthError as err:
            return self.exchange_refused(request, pending, link, err)
        except JiraAuthenticationFailed:
            return self.failed(
                request,
                pending,
                link,
                "not_recognised",
                _(
                    "Jira accepted the authorisation but then did not recognise you with the new "
                    "token. Please try again; if it keeps happening, tell your administrator."
                ),
                status=502,
            )
        except (JiraAPIError, JiraUnavailable, requests.RequestException) as err:
            logger.warning("Jira failed during the callback for link %s: %s", pending.link_id, err)
            return self.failed(
                request,
                pending,
                link,
                "unavailable",
                _("%(link)s did not answer properly: %(reason)s Please try again in a moment.")
                % {"link": link.name if link else "Jira", "reason": _reason(err)},
                status=502,
                title=_("Jira could not be reached"),
            )
        except JiraConnectError as err:  # the link's own configuration is broken
            logger.error("Cannot complete a connection on link %s: %s", pending.link_id, err)
            return self.failed(
                request,
                pending,
                link,
                "misconfigured",
                _("This Jira link is not set up correctly. Please tell your administrator."),
                status=503,
            )
        if pending.from_api:
            return self.back_to_front_end(request, pending, connection.link, redirects.CONNECTED)
        who = connection.jira_display_name or connection.jira_name
        if created:
            text = _("Connected to %(link)s as %(who)s.")
        else:
            text = _("Reconnected to %(link)s as %(who)s.")
        messages.success(request, text % {"link": connection.link.name, "who": who})
        state.remember_used(request.session, pending)
        return HttpResponseRedirect(self.target(request, pending.next_url))

    @staticmethod
    def target(request: HttpRequest, next_url: str) -> str:
        """Where the user started: the same place whether they approved or cancelled."""
        return safe_next(request, next_url) or reverse("jira_connect:connections")

    def already_connected(self, request: HttpRequest, state_value: str) -> HttpResponse | None:
        """Jira's consent page approved again (Back, then Allow) after the connection succeeded.

        The state was used by the successful callback moments ago; the user is
        connected, so say so instead of "unknown or already used".
        """
        used = state.find_used(request.session, state_value, request.user.pk)
        if used is None:
            return None
        connection = (
            JiraConnection.objects.filter(
                link_id=used.link_id,
                user_id=tenancy.user_key(request.user),
                status=JiraConnection.Status.ACTIVE,
            )
            .select_related("link")
            .defer("access_token", "refresh_token", "link__client_secret")
            .first()
        )
        if connection is None:
            return None
        who = connection.jira_display_name or connection.jira_name
        messages.info(
            request,
            _("You are already connected to %(link)s as %(who)s.")
            % {"link": connection.link.name, "who": who},
        )
        return HttpResponseRedirect(self.target(request, used.next_url))

    def jira_refused(
        self,
        request: HttpRequest,
        pending: state.PendingAuthorization,
        link: JiraLink | None,
        error: str,
        description: str,
    ) -> HttpResponse:
        name = link.name if link else "Jira"
        if error == "access_denied":
            if pending.from_api:
                return self.back_to_front_end(request, pending, link, redirects.DENIED)
            messages.info(request, _("You cancelled connecting to %(link)s.") % {"link": name})
            return HttpResponseRedirect(self.target(request, pending.next_url))
        if error == "invalid_scope":
            code = "invalid_scope"
            message = _(
                "%(link)s refused the permissions this site asked for (%(scope)s). Please tell "
                "your administrator: the link's scope must match the incoming link in Jira."
            ) % {"link": name, "scope": link.scope if link else "?"}
        else:
            code = "refused"
            message = _("%(link)s refused the connection: %(error)s.") % {
                "link": name,
                "error": _clip(f"{error} {description}".strip()),
            }
        return self.failed(request, pending, link, code, message, status=400)

    def exchange_refused(
        self,
        request: HttpRequest,
        pending: state.PendingAuthorization,
        link: JiraLink | None,
        err: OAuthError,
    ) -> HttpResponse:
        name = link.name if link else "Jira"
        if err.error == "invalid_client":
            code = "invalid_client"
            message = _(
                "%(link)s did not accept this site's client ID and secret. Please tell your "
                "administrator to check the link's credentials."
            ) % {"link": name}
        elif err.error == "invalid_grant":
            code = "invalid_grant"
            message = _(
                "%(link)s did not accept the authorisation: it may have expired (Jira gives only a "
                "few seconds) or the Redirect URL may not match. Please try again."
            ) % {"link": name}
        else:
            code = "exchange_failed"
            message = _("%(link)s refused the connection: %(error)s.") % {
                "link": name,
                "error": _clip(str(err)),
            }
        logger.warning(
            "Jira refused a code exchange on link %s: %s", link.slug if link else "?", err.error
        )
        return self.failed(request, pending, link, code, message, status=400)

    def failed(
        self,
        request: HttpRequest,
        pending: state.PendingAuthorization,
        link: JiraLink | None,
        code: str,
        message: str,
        *,
        status: int,
        title: str = "",
        show_link: bool = True,
    ) -> HttpResponse:
        """The error page for an HTML flow; back to the front end, with ``code``, for an API one."""
        if pending.from_api:
            return self.back_to_front_end(request, pending, link, redirects.ERROR, code)
        return render_error(
            request,
            title or _("Connection failed"),
            message,
            status=status,
            link=link if show_link else None,
        )

    def back_to_front_end(
        self,
        request: HttpRequest,
        pending: state.PendingAuthorization,
        link: JiraLink | None,
        outcome: str,
        error: str = "",
    ) -> HttpResponse:
        target = safe_next(request, pending.next_url) or reverse("jira_connect:connections")
        slug = link.slug if link else ""
        return HttpResponseRedirect(redirects.with_outcome(target, outcome, slug, error))


@method_decorator(USER_PAGE, name="dispatch")
class DisconnectView(LoginRequiredMixin, View):
    """GET: asks for confirmation. POST (CSRF-protected): forget the user's connection on a link."""

    template_name = "jira_connect/disconnect.html"

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        link = get_available_link(request, slug)
        target = safe_next(request, request.GET.get("next")) or reverse("jira_connect:connections")
        connection = tenancy.user_connections(request).by_link.get(link.pk)
        if connection is None:
            messages.info(request, _("You are not connected to %(link)s.") % {"link": link.name})
            return HttpResponseRedirect(target)
        context = {
            "link": link,
            "connection": connection,
            "next": safe_next(request, request.GET.get("next")),
            "cancel_url": target,
        }
        return render(request, self.template_name, context)

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        link = get_available_link(request, slug)
        # Read the form before changing anything: a body Django cannot parse fails here, not later.
        target = safe_next(request, request.POST.get("next")) or reverse("jira_connect:connections")
        connection = JiraConnection.objects.filter(
            link=link, user_id=tenancy.user_key(request.user)
        ).first()
        notices.forget(link.pk, request.user.pk)
        if connection is None:
            messages.info(request, _("You were not connected to %(link)s.") % {"link": link.name})
        else:
            lifecycle.disconnect(connection)
            messages.success(
                request,
                _(
                    "Disconnected from %(link)s. To remove this site's access in Jira too, open your "
                    "Jira profile, “Authorized applications”."
                )
                % {"link": link.name},
            )
        tenancy.forget_user_connections(request)
        return HttpResponseRedirect(target)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 1] + "…"


def _reason(err: Exception) -> str:
    if isinstance(err, requests.Timeout):
        return _("it did not answer in time.")
    if isinstance(err, JiraUnavailable):
        return _clip(str(err))
    return _("it answered with an error.")
