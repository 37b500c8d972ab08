"""Admin for links and connections. Secrets are never displayed, not even partly."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from jira_connect.forms import JiraLinkForm
from jira_connect.models import JiraConnection, JiraLink

_SECRET_FIELDS = frozenset({"client_secret", "access_token", "refresh_token"})


class NoSecretLookupsMixin:
    """Refuses admin URL lookups on secret columns (``?client_secret__startswith=``)."""

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if any(part in _SECRET_FIELDS for part in lookup.split("__")):
            return False
        if request is None:  # Django 4.2 passes no request
            return super().lookup_allowed(lookup, value)  # type: ignore[misc, no-any-return]
        return super().lookup_allowed(lookup, value, request)  # type: ignore[misc, no-any-return]


@admin.register(JiraLink)
class JiraLinkAdmin(NoSecretLookupsMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    form = JiraLinkForm
    list_display = ("name", "slug", "tenant", "base_url", "scope", "is_active")
    list_filter = ("is_active", "tenant")
    search_fields = ("name", "slug", "tenant", "base_url", "client_id")
    prepopulated_fields = {"slug": ("name",)}

    @method_decorator(sensitive_post_parameters("client_secret"))
    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return super().changeform_view(request, *args, **kwargs)


@admin.register(JiraConnection)
class JiraConnectionAdmin(NoSecretLookupsMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "user",
        "link",
        "jira_display_name",
        "status",
        "expires_at",
        "last_refreshed_at",
    )
    list_filter = ("status", "link")
    list_select_related = ("user", "link")
    search_fields = ("jira_name", "jira_display_name", "jira_email")
    raw_id_fields = ("user",)
    exclude = ("access_token", "refresh_token")
    readonly_fields = (
        "tokens_present",
        "expires_at",
        "scope",
        "jira_key",
        "jira_name",
        "jira_display_name",
        "jira_email",
        "last_refreshed_at",
        "last_error",
        "last_error_at",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request: HttpRequest) -> Any:
        # Tokens are never displayed: don't even load (and decrypt) them.
        return super().get_queryset(request).defer("access_token", "refresh_token")

    @admin.display(description=_("tokens"))
    def tokens_present(self, obj: JiraConnection) -> str:
        access = _("access token present") if obj.access_token else _("no access token")
        refresh = _("refresh token present") if obj.refresh_token else _("no refresh token")
        return f"{access}, {refresh}"
