"""A token authenticator for the tests, shaped like DRF's or allauth headless's."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest

#: Tokens the tests hand out: token -> username.
TOKENS: dict[str, str] = {}


def bearer_user(request: HttpRequest) -> Any:
    """The user an ``Authorization: Bearer <token>`` header names, or ``None``."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    username = TOKENS.get(token) if scheme.lower() == "bearer" else None
    if username is None:
        return None
    return get_user_model().objects.filter(username=username, is_active=True).first()


def bearer_or_session_user(request: HttpRequest) -> Any:
    """The token's user, else the session's (a site that accepts both)."""
    user = bearer_user(request)
    if user is not None:
        return user
    session = getattr(request, "user", None)
    return session if session is not None and session.is_authenticated else None
