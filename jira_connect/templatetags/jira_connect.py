"""``{% load jira_connect %}``: a user's Connect / Reconnect / Disconnect button for one link."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import date_format

from jira_connect import tenancy
from jira_connect.models import JiraLink

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
    ``show_status=False`` leaves out the status and its explanation, for
    pages that show them themselves. The user's connections are read once
    per request, however many buttons a page shows.
    """
    request = context.get("request")
    user = getattr(request, "user", None)
    found: JiraLink | None = link if isinstance(link, JiraLink) else None
    connection = notice = None
    if request is not None and user is not None and user.is_authenticated:
        mine = tenancy.user_connections(request)
        if found is None:
            known = [c.link for c in mine.by_link.values() if c.link.slug == link]
            found = known[0] if known else JiraLink.objects.filter(slug=link).first()
        if found is not None:
            connection = mine.by_link.get(found.pk)
            notice = mine.notices.get(found.pk)
            if connection is not None:
                connection.link = found  # its status text reads the link's scope: no query
    elif found is None:
        found = JiraLink.objects.filter(slug=link).first()
    if found is not None and request is not None and not tenancy.request_may_use(request, found):
        found = None  # another tenant's link, an inactive one, or one the policy refuses: nothing
    return {
        "link": found,
        "connection": connection,
        "notice": notice,
        "next": next or (request.get_full_path() if request else ""),
        "request": request,
        "user": user,
        "show_status": show_status,
    }


@register.filter(expects_localtime=True, is_safe=False)
def jira_connect_when(value: datetime | None) -> str:
    """A date and time with its time zone (``Dec. 2, 2026, 3:22 a.m. UTC``): users and staff
    may be anywhere, so a time never stands without its zone."""
    if not value:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)  # when called from Python, not a template
    return f"{date_format(value, 'DATETIME_FORMAT')} {date_format(value, 'T')}"
