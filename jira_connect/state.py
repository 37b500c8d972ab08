"""Pending authorisations, kept server-side in the user's session until the callback.

Each started flow is keyed by its ``state`` (256 random bits from
``oauth.start_authorization``) and remembers the user and link that started
it, the PKCE verifier, the redirect URI sent (the exchange must repeat it
exactly), where to go afterwards, how to report the outcome there, and when
it started. A state is popped on
first use, expires after ``STATE_TTL``, and only the newest few are kept, so
an abandoned tab or a flood of starts cannot grow the session.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.utils.translation import gettext as _

from jira_connect.conf import app_settings
from jira_connect.exceptions import InvalidOAuthState

SESSION_KEY = "jira_connect.pending"
#: States of flows that completed, kept (hashed) for a while to recognise a replay.
USED_SESSION_KEY = "jira_connect.used"
#: Flows one session may have open at once (several tabs, several links).
MAX_PENDING = 5
#: A state longer than this is not ours; refuse before any lookup.
MAX_STATE_LENGTH = 128


@dataclass(frozen=True)
class PendingAuthorization:
    state: str
    link_id: int
    user_pk: str
    code_verifier: str
    redirect_uri: str
    next_url: str
    started_at: float
    #: Started through the JSON API: the callback reports the outcome in ``next``'s query
    #: string (see ``redirects``) rather than with messages. Defaulted, so flows pending
    #: in sessions from before it existed still read.
    from_api: bool = False
    #: The scope asked for on Jira's consent page: what the user granted when Jira's token
    #: answer names none, even if staff change the link's scope meanwhile. Empty in flows
    #: pending from before it existed.
    scope: str = ""

    def __repr__(self) -> str:
        return f"PendingAuthorization(link_id={self.link_id}, user_pk={self.user_pk!r})"


def remember(session: SessionBase, pending: PendingAuthorization) -> None:
    """Store a started flow, dropping expired ones and all but the newest few."""
    now = time.time()
    ttl = app_settings.STATE_TTL
    flows: dict[str, dict[str, Any]] = {
        state: data
        for state, data in _records(session, SESSION_KEY).items()
        if now - float(data.get("started_at", 0)) < ttl
    }
    flows[pending.state] = asdict(pending)
    newest = sorted(flows.items(), key=lambda item: float(item[1]["started_at"]), reverse=True)
    session[SESSION_KEY] = dict(newest[:MAX_PENDING])


def take(session: SessionBase, state: str, user_pk: object) -> PendingAuthorization:
    """Pop the flow ``state`` names, or raise ``InvalidOAuthState`` saying why.

    Popping first makes a state single use even when the rest of the callback
    fails.
    """
    if not state:
        raise InvalidOAuthState(_("The answer from Jira has no state."))
    if len(state) > MAX_STATE_LENGTH:
        raise InvalidOAuthState(_("The answer from Jira has an invalid state."))
    flows = _records(session, SESSION_KEY)
    data = None
    for candidate in list(flows):
        if secrets.compare_digest(candidate.encode(), state.encode()):
            data = flows.pop(candidate)
            break
    if data is None:
        raise InvalidOAuthState(
            _("This connection attempt is unknown or was already used. Please start again.")
        )
    session[SESSION_KEY] = flows
    try:
        pending = PendingAuthorization(**data)
    except TypeError as err:
        raise InvalidOAuthState(
            _("This connection attempt is unreadable. Please start again.")
        ) from err
    if pending.user_pk != str(user_pk):
        raise InvalidOAuthState(_("This connection attempt was started by another user."))
    if time.time() - pending.started_at >= app_settings.STATE_TTL:
        raise InvalidOAuthState(_("This connection attempt has expired. Please start again."))
    return pending


def _records(session: SessionBase, session_key: str) -> dict[str, dict[str, Any]]:
    """The records kept in the session under ``session_key``: pending flows by state, or used
    ones by the state's digest. What is not such a mapping (a session edited by hand or left by
    another version) is dropped here, so the readers of both kinds need not check it again."""
    value = session.get(session_key)
    if not isinstance(value, dict):
        return {}
    return {
        key: data for key, data in value.items() if isinstance(key, str) and isinstance(data, dict)
    }


@dataclass(frozen=True)
class UsedAuthorization:
    """A flow that completed: enough to tell a user who approves again that they are connected."""

    link_id: int
    user_pk: str
    next_url: str
    used_at: float


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def remember_used(session: SessionBase, pending: PendingAuthorization) -> None:
    """Keep a completed flow's state (as a hash) for ``STATE_TTL``: Jira's consent page may be
    approved again through the browser's Back button."""
    now = time.time()
    ttl = app_settings.STATE_TTL
    used = {
        key: data
        for key, data in _records(session, USED_SESSION_KEY).items()
        if now - float(data.get("used_at", 0)) < ttl
    }
    used[_digest(pending.state)] = asdict(
        UsedAuthorization(pending.link_id, pending.user_pk, pending.next_url, now)
    )
    newest = sorted(used.items(), key=lambda item: float(item[1]["used_at"]), reverse=True)
    session[USED_SESSION_KEY] = dict(newest[:MAX_PENDING])


def find_used(session: SessionBase, state: str, user_pk: object) -> UsedAuthorization | None:
    """The completed flow ``state`` belonged to, if this user completed it recently."""
    if not state or len(state) > MAX_STATE_LENGTH:
        return None
    data = _records(session, USED_SESSION_KEY).get(_digest(state))
    if data is None:
        return None
    try:
        used = UsedAuthorization(**data)
    except TypeError:
        return None
    if used.user_pk != str(user_pk) or time.time() - used.used_at >= app_settings.STATE_TTL:
        return None
    return used
