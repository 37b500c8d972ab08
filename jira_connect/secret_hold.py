"""Keeping a pasted client secret across a failed submit of the link form, never in the page.

The admin never renders a secret back, so a form error (a typo in the base
URL) used to wipe the secret staff had just pasted. Instead, the secret is
held server-side, encrypted with the app's keys, in the staff member's
session under a random token; the page carries only the token, in a hidden
field. A hold lives ``HOLD_TTL`` seconds, a session keeps a few, and a
successful save drops it.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.views.decorators.debug import sensitive_variables

from jira_connect import crypto
from jira_connect.exceptions import SecretDecryptionError

SESSION_KEY = "jira_connect.secret_holds"
HOLD_TTL = 15 * 60
MAX_HOLDS = 5


@sensitive_variables("secret")
def hold(session: SessionBase, secret: str, token: str = "") -> str:  # "": make a new token  # nosec B107
    """Hold ``secret`` (under ``token`` if given and known) and return the token."""
    now = time.time()
    holds = _live(session, now)
    if not token or token not in holds:
        token = secrets.token_urlsafe(32)
    holds[token] = {"secret": crypto.encrypt(secret), "at": now}
    newest = sorted(holds.items(), key=lambda item: float(item[1]["at"]), reverse=True)
    session[SESSION_KEY] = dict(newest[:MAX_HOLDS])
    return token


def take(session: SessionBase, token: str) -> str:
    """The secret held under ``token``, or ``""`` (unknown, expired, unreadable)."""
    if not token:
        return ""
    data = _live(session, time.time()).get(token)
    if data is None:
        return ""
    try:
        return crypto.decrypt(str(data["secret"]))
    except (SecretDecryptionError, KeyError, ValueError):  # a key rotated away: the hold is gone
        return ""


def drop(session: SessionBase, token: str) -> None:
    holds = _live(session, time.time())
    if holds.pop(token, None) is not None:
        session[SESSION_KEY] = holds


def _live(session: SessionBase, now: float) -> dict[str, dict[str, Any]]:
    value = session.get(SESSION_KEY)
    if not isinstance(value, dict):
        return {}
    return {
        key: data
        for key, data in value.items()
        if isinstance(key, str)
        and isinstance(data, dict)
        and now - float(data.get("at", 0)) < HOLD_TTL
    }
