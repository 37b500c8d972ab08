"""Admin for links and connections.

Staff set a link up once, following Atlassian's own steps, and come back
when something breaks: the pages say what to do in Jira, show the Redirect
URL to paste, test a link on demand, and act on connections row by row.
Secrets are never displayed, not even partly: the client secret is
write-only, tokens show only as "present".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import router
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from jira_connect import health, lifecycle, linkcheck, notices, tenancy
from jira_connect.exceptions import JiraConnectError, ReauthorizationRequired
from jira_connect.fields import is_unreadable
from jira_connect.forms import JiraLinkForm
from jira_connect.models import JiraConnection, JiraLink, LinkHealth, LinkTestResult
from jira_connect.templatetags.jira_connect import jira_connect_when

_SECRET_FIELDS = frozenset({"client_secret", "access_token", "refresh_token"})


class NoSecretLookupsMixin:
    """Refuses admin URL lookups on secret columns (``?client_secret__startswith=``)."""

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if any(part in _SECRET_FIELDS for part in lookup.split("__")):
            return False
        if request is None:  # Django 4.2 passes no request
            return super().lookup_allowed(lookup, value)  # type: ignore[misc, no-any-return]
        return super().lookup_allowed(lookup, value, request)  # type: ignore[misc, no-any-return]


class UnreadableSecretsNoticeMixin:
    """Tells staff which rows hold secrets no configured key decrypts, instead of a 500.

    The rows stay listed and editable; saving one writes its secrets back
    unchanged, so putting the missing key back makes them usable again.
    """

    def _unreadable_secrets(self, objects: Any) -> list[Any]:
        raise NotImplementedError

    def _warn_unreadable(self, request: HttpRequest, objects: Any) -> None:
        unreadable = self._unreadable_secrets(objects)
        if unreadable:
            messages.warning(
                request,
                _(
                    "%(count)s of these cannot be used: a stored secret cannot be decrypted with "
                    'any key in JIRA_CONNECT["ENCRYPTION_KEYS"] (%(names)s). Put back the key '
                    "it was encrypted with, then run manage.py jira_connect_rotate_keys."
                )
                % {"count": len(unreadable), "names": ", ".join(str(o) for o in unreadable[:5])},
            )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            self._warn_unreadable(request, changelist.result_list)
        return response

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if request.method == "GET":
            obj = self.get_object(request, object_id)  # type: ignore[attr-defined]
            if obj is not None:
                self._warn_unreadable(request, [obj])
        response: HttpResponse = super().change_view(  # type: ignore[misc]
            request, object_id, form_url, extra_context
        )
        return response


class TenantScopedMixin:
    """A customer's own admin sees only their tenant's links and connections.

    Staff whose admin requests resolve to a tenant (``TENANT_RESOLVER``) and
    who are not superusers are limited to that tenant: lists, pages, actions,
    filters, and the tenant of the links they add. Superusers, and staff of a
    single-tenant site (no tenant resolved), see everything.
    """

    tenant_lookup = "tenant"

    def staff_tenant(self, request: HttpRequest) -> str:
        if getattr(request.user, "is_superuser", False):
            return ""
        return tenancy.resolve_tenant(request)

    def get_queryset(self, request: HttpRequest) -> Any:
        queryset = super().get_queryset(request)  # type: ignore[misc]
        tenant = self.staff_tenant(request)
        return queryset.filter(**{self.tenant_lookup: tenant}) if tenant else queryset


def redirect_url(request: HttpRequest) -> str:
    """The Redirect URL staff paste into Jira's incoming link."""
    return lifecycle.redirect_uri_for(request)


class TenantFilter(admin.SimpleListFilter):
    """Filter by tenant, naming the shared (blank) tenant instead of an empty link."""

    title = _("tenant")
    parameter_name = "tenant"
    #: The lookup from the listed model to the tenant.
    tenant_field = "link__tenant"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        tenants = JiraLink.objects.order_by("tenant").values_list("tenant", flat=True).distinct()
        own = model_admin.staff_tenant(request)
        if own:
            tenants = tenants.filter(tenant=own)
        return [(tenant or "-", tenant or str(_("(no tenant)"))) for tenant in tenants]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        tenant = "" if value == "-" else value
        filtered: QuerySet[Any] = queryset.filter(**{self.tenant_field: tenant})
        return filtered


class LinkTenantFilter(TenantFilter):
    tenant_field = "tenant"


@admin.register(JiraLink)
class JiraLinkAdmin(
    UnreadableSecretsNoticeMixin,
    TenantScopedMixin,
    NoSecretLookupsMixin,
    admin.ModelAdmin,  # type: ignore[type-arg]
):
    form = JiraLinkForm
    change_form_template = "admin/jira_connect/jiralink/change_form.html"
    # Few, short columns so the list fits beside the admin's sidebar; the base URL is on the change page.
    list_display = ("name", "slug", "tenant", "scope", "is_active", "connection_count")
    list_filter = ("is_active", LinkTenantFilter)
    search_fields = ("name", "slug", "tenant", "base_url", "client_id")
    prepopulated_fields = {"slug": ("name",)}
    actions = ("test_links",)

    class Media:
        css = {"all": ("jira_connect/admin.css",)}

    def get_fieldsets(self, request: HttpRequest, obj: JiraLink | None = None) -> Any:
        in_jira = format_html(
            "{}<ol><li>{}</li><li>{} <code class='jira-connect-redirect-url'>{}</code></li><li>{}</li></ol>",
            _("First, in Jira, as a Jira administrator:"),
            _(
                "Administration > Applications > Application links > Create link > External application > Incoming."
            ),
            _("Name it after this site and paste this Redirect URL:"),
            redirect_url(request),
            _(
                "Choose the permission (usually Write), save, and copy the Client ID and Client secret Jira shows."
            ),
        )
        # Without change permission the admin renders every field read-only from the
        # model's value: the secret must then not be a field at all.
        can_change = self.has_change_permission(request, obj)
        secret: tuple[str, ...] = (
            ("client_secret", "secret_hold") if can_change else ("secret_status",)
        )
        return (
            (None, {"fields": ("name", "slug", "tenant", "is_active")}),
            (
                _("The incoming link in Jira"),
                {
                    "description": in_jira,
                    "fields": (
                        "base_url",
                        "client_id",
                        *secret,
                        "scope",
                        *(("confirm_scope",) if can_change else ()),
                    ),
                },
            ),
            (
                _("TLS"),
                {
                    "classes": ("collapse",),
                    "description": _(
                        "Only for a Jira whose certificate is signed by your own certificate authority."
                    ),
                    "fields": ("verify_tls", "ca_bundle"),
                },
            ),
        )

    def get_readonly_fields(self, request: HttpRequest, obj: JiraLink | None = None) -> Any:
        fields: tuple[str, ...] = (
            () if self.has_change_permission(request, obj) else ("secret_status",)
        )
        if self.staff_tenant(request):
            fields += ("tenant",)  # a customer's admin registers links for their own tenant only
        return fields

    def get_form(
        self, request: HttpRequest, obj: JiraLink | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        # The form holds a pasted secret across a failed submit in this staff member's session.
        return type(form.__name__, (form,), {"session": getattr(request, "session", None)})

    def save_model(self, request: HttpRequest, obj: JiraLink, form: Any, change: bool) -> None:
        tenant = self.staff_tenant(request)
        if tenant:
            obj.tenant = tenant
        super().save_model(request, obj, form, change)

    def _unreadable_secrets(self, objects: Any) -> list[Any]:
        return [link for link in objects if is_unreadable(link.client_secret)]

    @admin.display(description=_("client secret"))
    def secret_status(self, obj: JiraLink) -> str:
        stored = JiraLink.objects.filter(pk=obj.pk, client_secret__isnull=False).exists()
        return str(_("stored (never shown)") if stored else _("not set"))

    def get_queryset(self, request: HttpRequest) -> QuerySet[JiraLink]:
        queryset: QuerySet[JiraLink] = super().get_queryset(request)
        return queryset.annotate(_connection_count=Count("connections"))

    @admin.display(description=_("connections"), ordering="_connection_count")
    def connection_count(self, obj: JiraLink) -> Any:
        count = getattr(obj, "_connection_count", 0)
        url = reverse("admin:jira_connect_jiraconnection_changelist") + f"?link__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, count)

    @method_decorator(sensitive_post_parameters("client_secret"))
    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return super().changeform_view(request, *args, **kwargs)

    def get_urls(self) -> list[URLPattern]:
        test_view = self.admin_site.admin_view(self.test_link_view)
        return [
            path("<path:object_id>/test/", test_view, name="jira_connect_jiralink_test"),
            *super().get_urls(),
        ]

    @method_decorator(require_POST)
    def test_link_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        link = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_change_permission(request, link):
            raise PermissionDenied
        report = self.run_test(request, link)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Test of %(link)s") % {"link": link.name},
            "opts": self.model._meta,
            "original": link,
            "report": report,
            "redirect_url": redirect_url(request),
        }
        return TemplateResponse(request, "admin/jira_connect/jiralink/test_result.html", context)

    def run_test(self, request: HttpRequest, link: JiraLink) -> linkcheck.LinkReport:
        """Test the link and keep the outcome for the health page."""
        report = linkcheck.check_link(link, redirect_uri=redirect_url(request))
        LinkTestResult.objects.using(router.db_for_write(LinkTestResult)).update_or_create(
            link=link,
            defaults={"ok": report.ok, "summary": report.message(), "tested_at": timezone.now()},
        )
        return report

    @admin.action(description=_("Test the selected links"), permissions=["change"])
    def test_links(self, request: HttpRequest, queryset: QuerySet[JiraLink]) -> None:
        for link in queryset:
            report = self.run_test(request, link)
            level = messages.SUCCESS if report.ok else messages.ERROR
            self.message_user(request, report.message(), level)


def _user_search_fields() -> tuple[str, ...]:
    user_model = get_user_model()
    fields = [f"user__{user_model.USERNAME_FIELD}"]
    email_field = getattr(user_model, "EMAIL_FIELD", None)
    if email_field and email_field != user_model.USERNAME_FIELD:
        fields.append(f"user__{email_field}")
    return tuple(fields)


#: A connection's actions as buttons on its page: short labels that fit beside "History".
_BUTTONS = {
    "refresh_now": _("Refresh tokens"),
    "verify_identity": _("Verify with Jira"),
    "revoke": _("Revoke"),
    "disconnect": _("Disconnect"),
}


@admin.register(JiraConnection)
class JiraConnectionAdmin(
    UnreadableSecretsNoticeMixin,
    TenantScopedMixin,
    NoSecretLookupsMixin,
    admin.ModelAdmin,  # type: ignore[type-arg]
):
    # Few, short columns so the list fits a laptop screen; the rest is on the change page.
    list_display = ("user", "link", "jira_identity", "status", "last_refreshed")
    tenant_lookup = "link__tenant"
    # Only links that have connections in the (tenant-scoped) list: no other tenant's names.
    list_filter = ("status", ("link", admin.RelatedOnlyFieldListFilter), TenantFilter)
    list_select_related = ("user", "link")
    date_hierarchy = "last_refreshed_at"
    # A stable order: rows do not move when an action refreshes them.
    ordering = ("link__name", "pk")
    exclude = ("access_token", "refresh_token")
    actions = ("refresh_now", "verify_identity", "revoke", "disconnect")
    change_form_template = "admin/jira_connect/jiraconnection/change_form.html"

    class Media:
        css = {"all": ("jira_connect/admin.css",)}

    # Status changes only through the actions (and the user's own connect/disconnect).
    readonly_fields = (
        "user",
        "link",
        "status",
        "tokens_present",
        "expires_at",
        "scope",
        "redirect_uri",
        "jira_key",
        "jira_name",
        "jira_display_name",
        "jira_email",
        "last_refreshed_at",
        "last_error",
        "last_error_at",
        "last_failure_kind",
        "refresh_paused_until",
        "created_at",
        "updated_at",
    )

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return (*_user_search_fields(), "jira_name", "jira_display_name", "jira_email", "jira_key")

    def get_queryset(self, request: HttpRequest) -> QuerySet[JiraConnection]:
        # Tokens are never displayed: don't even load (and decrypt) them.
        queryset: QuerySet[JiraConnection] = super().get_queryset(request)
        return queryset.defer("access_token", "refresh_token")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # connections are made by users, through Jira's consent page

    def _unreadable_secrets(self, objects: Any) -> list[Any]:
        rows = list(objects)
        # The list defers the tokens: read them here, for the rows on this page only.
        tokens = JiraConnection.objects.filter(pk__in=[row.pk for row in rows]).only(
            "access_token", "refresh_token"
        )
        bad = {
            row.pk
            for row in tokens
            if is_unreadable(row.access_token) or is_unreadable(row.refresh_token)
        }
        return [row for row in rows if row.pk in bad or is_unreadable(row.link.client_secret)]

    @admin.display(description=_("Jira user"), ordering="jira_name")
    def jira_identity(self, obj: JiraConnection) -> str:
        if obj.jira_display_name and obj.jira_name:
            return f"{obj.jira_display_name} ({obj.jira_name})"
        return obj.jira_display_name or obj.jira_name or "—"

    @admin.display(description=_("last refreshed"), ordering="last_refreshed_at")
    def last_refreshed(self, obj: JiraConnection) -> str:
        return jira_connect_when(obj.last_refreshed_at) or "—"

    @admin.display(description=_("tokens"))
    def tokens_present(self, obj: JiraConnection) -> str:
        fresh = JiraConnection.objects.filter(pk=obj.pk)
        access = fresh.filter(access_token__isnull=False).exists()
        refresh = fresh.filter(refresh_token__isnull=False).exists()
        return "{}, {}".format(
            _("access token present") if access else _("no access token"),
            _("refresh token present") if refresh else _("no refresh token"),
        )

    # --- actions: from the list (bulk) and as buttons on a connection's page ---------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        actions: dict[str, Any] = self.get_actions(request)
        buttons = [(name, label) for name, label in _BUTTONS.items() if name in actions]
        extra_context = {
            **(extra_context or {}),
            "connection_buttons": buttons,
            # Nothing on the page is editable: no Save buttons that would do nothing.
            "show_save": False,
            "show_save_and_continue": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[URLPattern]:
        act_view = self.admin_site.admin_view(self.act_view)
        return [
            path(
                "<path:object_id>/act/<str:action>/",
                act_view,
                name="jira_connect_jiraconnection_act",
            ),
            *super().get_urls(),
        ]

    @method_decorator(require_POST)
    def act_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        """A button of the change page: runs one action on this connection (after a
        confirmation for revoke and disconnect), then comes back."""
        if action not in self.actions:
            raise Http404
        connection = get_object_or_404(self.get_queryset(request), pk=object_id)
        func: Any = getattr(type(self), action)
        allowed = getattr(func, "allowed_permissions", ("change",))
        if not all(
            getattr(self, f"has_{perm}_permission")(request, connection) for perm in allowed
        ):
            raise PermissionDenied
        queryset = self.get_queryset(request).filter(pk=connection.pk)
        response: TemplateResponse | None = func(self, request, queryset)
        if response is not None:
            return response  # the confirmation page
        if action == "disconnect":
            return HttpResponseRedirect(reverse("admin:jira_connect_jiraconnection_changelist"))
        return HttpResponseRedirect(
            reverse("admin:jira_connect_jiraconnection_change", args=[connection.pk])
        )

    def confirm(
        self,
        request: HttpRequest,
        queryset: QuerySet[JiraConnection],
        action: str,
        question: str,
        consequence: str,
    ) -> TemplateResponse | None:
        """Ask before revoking or disconnecting; ``None`` once the staff member confirmed."""
        if request.POST.get("post") == "yes":
            return None
        connections = list(queryset.select_related("user", "link"))
        single = request.resolver_match is not None and "object_id" in request.resolver_match.kwargs
        context = {
            **self.admin_site.each_context(request),
            "title": question,
            "opts": self.model._meta,
            "connections": connections,
            "consequence": consequence,
            "action": action,
            "action_url": (
                reverse("admin:jira_connect_jiraconnection_act", args=[connections[0].pk, action])
                if single and connections
                else reverse("admin:jira_connect_jiraconnection_changelist")
            ),
            "single": single,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/jira_connect/jiraconnection/confirm.html", context)

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[JiraConnection],
        done_message: Callable[[int], str],
        act: Callable[[JiraConnection], Any],
    ) -> None:
        done = 0
        for connection in queryset.select_related("link", "user"):
            try:
                act(connection)
                done += 1
            except ReauthorizationRequired:
                self.message_user(
                    request,
                    _(
                        "%(connection)s: Jira no longer accepts this connection; the user must reconnect."
                    )
                    % {"connection": connection},
                    messages.WARNING,
                )
            except (JiraConnectError, requests.RequestException) as err:
                self.message_user(request, f"{connection}: {err}", messages.ERROR)
        if done:
            self.message_user(request, done_message(done) % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Refresh tokens now"), permissions=["change"])
    def refresh_now(self, request: HttpRequest, queryset: QuerySet[JiraConnection]) -> None:
        self._each(
            request,
            queryset,
            lambda n: ngettext(
                "Jira issued new tokens for %(count)d connection.",
                "Jira issued new tokens for %(count)d connections.",
                n,
            ),
            lambda connection: connection.refresh(),
        )

    @admin.action(description=_("Verify identity with Jira"), permissions=["change"])
    def verify_identity(self, request: HttpRequest, queryset: QuerySet[JiraConnection]) -> None:
        self._each(
            request,
            queryset,
            lambda n: ngettext(
                "Jira accepted the token of %(count)d connection and confirmed who it belongs to; the Jira user shown is up to date.",
                "Jira accepted the tokens of %(count)d connections and confirmed who they belong to; the Jira users shown are up to date.",
                n,
            ),
            lambda connection: connection.verify(),
        )

    @admin.action(
        description=_("Revoke (forget the tokens, keep the record)"), permissions=["change"]
    )
    def revoke(
        self, request: HttpRequest, queryset: QuerySet[JiraConnection]
    ) -> TemplateResponse | None:
        asked = self.confirm(
            request,
            queryset,
            "revoke",
            str(_("Revoke these connections?")),
            str(
                _(
                    "This site forgets their tokens and keeps the record; each user is told an "
                    "administrator revoked the connection and must connect again to use it."
                )
            ),
        )
        if asked is not None:
            return asked
        self._each(
            request,
            queryset,
            lambda n: ngettext(
                "Revoked %(count)d connection: its tokens are forgotten, and its user is told to reconnect.",
                "Revoked %(count)d connections: their tokens are forgotten, and their users are told to reconnect.",
                n,
            ),
            lambda connection: lifecycle.revoke(connection),
        )
        return None

    @admin.action(description=_("Disconnect (delete the connection)"), permissions=["delete"])
    def disconnect(
        self, request: HttpRequest, queryset: QuerySet[JiraConnection]
    ) -> TemplateResponse | None:
        asked = self.confirm(
            request,
            queryset,
            "disconnect",
            str(_("Disconnect these connections?")),
            str(
                _(
                    "This site deletes the connections and their tokens; each user is told an "
                    "administrator disconnected them and can connect again."
                )
            ),
        )
        if asked is not None:
            return asked

        def disconnect(connection: JiraConnection) -> None:
            notices.record([connection])
            connection.disconnect()

        self._each(
            request,
            queryset,
            lambda n: ngettext(
                "Disconnected %(count)d connection: it is deleted, and its user is told why.",
                "Disconnected %(count)d connections: they are deleted, and their users are told why.",
                n,
            ),
            disconnect,
        )
        return None

    def delete_model(self, request: HttpRequest, obj: JiraConnection) -> None:
        notices.record([obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[JiraConnection]) -> None:
        notices.record(queryset)
        super().delete_queryset(request, queryset)


@admin.register(LinkHealth)
class LinkHealthAdmin(TenantScopedMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """The health page: per link, connections by status and 14 days of refresh outcomes.

    An admin entry of its own (a proxy of the links) so it is listed on the
    admin index; tenant staff see their tenant's links only. Read from
    daily counters (``jira_connect.health``): a constant number of queries.
    """

    class Media:
        css = {"all": ("jira_connect/admin.css",)}

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or request.user.has_perm(
            "jira_connect.view_jiralink"
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.changelist_view)
        info = (self.opts.app_label, self.opts.model_name)
        return [path("", view, name="{}_{}_changelist".format(*info))]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = health.link_health(self.get_queryset(request).order_by("name"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Link health"),
            "opts": self.opts,
            "rows": rows,
            "failing": [row for row in rows if row.failing],
            "days": health.DAYS,
            "recent_days": health.RECENT_DAYS,
            "has_view_permission": True,
            "media": self.media,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/jira_connect/health.html", context)
