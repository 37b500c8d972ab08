"""Which links a request and a user may use.

Two rules, both applied server-side by every view (and the access policy by
the Python API, which has no request): the request's tenant, from
``JIRA_CONNECT["TENANT_RESOLVER"]``, must match the link's ``tenant`` (a blank
tenant is shared by all), and ``JIRA_CONNECT["LINK_ACCESS_POLICY"]`` must
allow the user on the link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jira_connect.conf import app_settings

if TYPE_CHECKING:
    from django.http import HttpRequest

    from jira_connect.models import DisconnectNotice, JiraConnection, JiraLink


_TENANT_ATTRIBUTE = "_jira_connect_tenant"
_CONNECTIONS_ATTRIBUTE = "_jira_connect_connections"


def user_key(user: Any) -> Any:
    """The user's primary key, for a ``user_id=`` lookup.

    Typed ``Any`` on purpose: ``AnonymousUser.pk`` is None, which matches no
    row, the answer every caller wants for a user who is not logged in; the
    stubs' ``int | None`` would otherwise need the check at each lookup.
    """
    return user.pk


def no_tenant(request: HttpRequest) -> str | None:
    """Default resolver: a single-tenant site, where only blank-tenant links apply."""
    return None


def allow_active_users(user: Any, link: JiraLink) -> bool:
    """Default access policy: any authenticated, active user."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def resolve_tenant(request: HttpRequest) -> str:
    """The request's tenant key, ``""`` when there is none.

    Asked once per request and remembered on it: a resolver often queries
    (the user's organisation), and a page with several buttons asks for each.
    """
    cached: str | None = getattr(request, _TENANT_ATTRIBUTE, None)
    if cached is None:
        cached = app_settings.TENANT_RESOLVER(request) or ""
        setattr(request, _TENANT_ATTRIBUTE, cached)
    return cached


def tenant_may_use(tenant: str, link: JiraLink) -> bool:
    return link.tenant == "" or link.tenant == tenant


def user_may_use(user: Any, link: JiraLink) -> bool:
    """The access policy and the link's active flag: what the Python API enforces."""
    return link.is_active and bool(app_settings.LINK_ACCESS_POLICY(user, link))


def available_links(request: HttpRequest) -> list[JiraLink]:
    """The active links this request's tenant and user may use, for menus and pages."""
    from jira_connect.models import JiraLink

    tenant = resolve_tenant(request)
    links = JiraLink.objects.filter(is_active=True, tenant__in={"", tenant})
    return [link for link in links if user_may_use(request.user, link)]


def request_may_use(request: HttpRequest, link: JiraLink) -> bool:
    """Everything a view enforces: tenant, access policy, active flag."""
    return tenant_may_use(resolve_tenant(request), link) and user_may_use(request.user, link)


def link_for_request(request: HttpRequest, slug: str) -> JiraLink | None:
    """The link ``slug`` names if this request may use it, else ``None``.

    One answer for "no such link" and "not yours": the HTML views turn it into
    the same 404, the JSON API into the same problem document, so a user of
    one tenant cannot even learn which slugs another tenant has.
    """
    from jira_connect.models import JiraLink

    link: JiraLink | None = JiraLink.objects.filter(slug=slug).first()
    if link is None or not request_may_use(request, link):
        return None
    return link


@dataclass(frozen=True)
class UserConnections:
    """The request user's connections (tokens not loaded) and staff's disconnection notices."""

    by_link: dict[int, JiraConnection]
    notices: dict[int, DisconnectNotice]


def user_connections(request: HttpRequest) -> UserConnections:
    """Everything the user's pages and buttons show, in two queries per request.

    Remembered on the request, so a page with a button per link costs the
    same as a page with one (DESIGN §5).
    """
    from jira_connect.models import DisconnectNotice, JiraConnection

    cached: UserConnections | None = getattr(request, _CONNECTIONS_ATTRIBUTE, None)
    if cached is not None:
        return cached
    user = request.user
    if not getattr(user, "is_authenticated", False):
        cached = UserConnections({}, {})
    else:
        connections = (
            JiraConnection.objects.filter(user_id=user_key(user))
            .select_related("link")
            .defer("access_token", "refresh_token", "link__client_secret")
        )
        notices = DisconnectNotice.objects.filter(user_id=user_key(user))
        cached = UserConnections(
            {connection.link_id: connection for connection in connections},
            {notice.link_id: notice for notice in notices},
        )
    setattr(request, _CONNECTIONS_ATTRIBUTE, cached)
    return cached


def forget_user_connections(request: HttpRequest) -> None:
    """After a change in this request (a disconnect), read them again when next asked."""
    if hasattr(request, _CONNECTIONS_ATTRIBUTE):
        delattr(request, _CONNECTIONS_ATTRIBUTE)
