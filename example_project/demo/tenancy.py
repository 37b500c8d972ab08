"""The demo's tenant resolver: a user's tenant is the name of their first group.

Real sites resolve the tenant from whatever identifies a customer: the host
name, a URL prefix, an organisation membership.
"""

from __future__ import annotations

from django.http import HttpRequest


def tenant_of_user(request: HttpRequest) -> str | None:
    user = request.user
    if not user.is_authenticated:
        return None
    group = user.groups.order_by("name").first()
    return group.name if group else None
