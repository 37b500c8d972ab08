"""``{% load jira_connect %}``: a user's Connect / Reconnect / Disconnect button for one link."""

from __future__ import annotations

from typing import Any

from django import template

from jira_connect import tenancy
from jira_connect.models import JiraConnection, JiraLink

register = template.Library()


@register.inclusion_tag("jira_connect/button.html", takes_context=True)
def jira_connect_button(
    context: template.Context,
    link: JiraLink | str,
    next: str = "",
    show_status: bool = True,
) -> dict[str, Any]:
    """Render the status and buttons for ``link`` (an instance or a slug).

    ``next`` is where to come back to after connecting (default: this page);
    ``show_status=False`` leaves out the "Connected as ..." badge, for pages
    that show the status themselves.
    """
    request = context.get("request")
    user = getattr(request, "user", None)
    found: JiraLink | None = (
        JiraLink.objects.filter(slug=link).first() if isinstance(link, str) else link
    )
    if found is not None and request is not None and not tenancy.request_may_use(request, found):
        found = None  # another tenant's link, an inactive one, or one the policy refuses: nothing
    connection = None
    if found is not None and user is not None and user.is_authenticated:
        connection = (
            JiraConnection.objects.filter(link=found, user_id=user.pk)
            .defer("access_token", "refresh_token")
            .first()
        )
    return {
        "link": found,
        "connection": connection,
        "next": next or (request.get_full_path() if request else ""),
        "request": request,
        "user": user,
        "show_status": show_status,
    }
