"""Jira Data Center's OAuth 2.0 scopes: parsing, validation and normalisation.

Jira DC scopes are a hierarchy, not a set of independent grants: WRITE
includes READ, ADMIN includes WRITE, SYSTEM_ADMIN includes ADMIN (and, since
Jira 10.3, MANAGE_SUBSCRIPTIONS includes READ_ALL). So ``READ WRITE`` means
exactly ``WRITE``, and a stored scope is kept in its smallest form. Jira
Cloud's granular scopes (``read:jira-work``) are rejected by DC with
``invalid_scope``, so they are refused here with a message saying why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Scope:
    name: str
    meaning: str | Promise
    #: The scopes this one includes directly.
    includes: tuple[str, ...] = ()
    #: Jira version that introduced it, for the admin's help text.
    since: str = ""


SCOPES: dict[str, Scope] = {
    scope.name: scope
    for scope in (
        Scope("READ", _("View projects and issues, their related items, and your own profile.")),
        Scope(
            "WRITE",
            _("Create, update and delete projects and issues; change your profile."),
            ("READ",),
        ),
        Scope(
            "ADMIN",
            _("Most administration functions, but not backups, imports or infrastructure."),
            ("WRITE",),
        ),
        Scope("SYSTEM_ADMIN", _("All administration functions."), ("ADMIN",)),
        Scope(
            "READ_ALL",
            _(
                "Read all content, users, groups and permissions, ignoring permissions (service use)."
            ),
            since="10.3",
        ),
        Scope(
            "MANAGE_SUBSCRIPTIONS",
            _(
                "Manage subscriptions for incremental-sync services, plus everything READ_ALL allows."
            ),
            ("READ_ALL",),
            since="10.3",
        ),
    )
}

DEFAULT_SCOPE = "WRITE"

_SEPARATORS = re.compile(r"[\s,]+")


def implied_by(name: str) -> frozenset[str]:
    """Every scope that ``name`` grants, itself included."""
    seen: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        pending.extend(SCOPES[current].includes)
    return frozenset(seen)


def parse(value: str) -> list[str]:
    """Split a scope string into validated, upper-cased Jira scope names.

    Raises ``ValidationError`` with a message that says what is wrong and why.
    """
    tokens = [token for token in _SEPARATORS.split(value.strip()) if token]
    if not tokens:
        raise ValidationError(_("Choose at least one Jira scope, e.g. WRITE."), code="empty")
    names: list[str] = []
    for token in tokens:
        name = token.upper()
        if name in SCOPES:
            names.append(name)
            continue
        if ":" in token or token.lower() in {"offline_access", "openid", "email", "profile"}:
            message: str | Promise
            if token.lower() == "offline_access":
                message = _(
                    "“offline_access” is not needed on Jira Data Center: it always returns a "
                    "refresh token. Remove it."
                )
            else:
                message = _(
                    "“%(scope)s” is a Jira Cloud scope; Jira Data Center rejects it. "
                    "Use one of READ, WRITE, ADMIN or SYSTEM_ADMIN."
                )
            raise ValidationError(message, code="cloud_scope", params={"scope": token})
        raise ValidationError(
            _("“%(scope)s” is not a Jira Data Center scope. Choose from %(choices)s."),
            code="unknown_scope",
            params={"scope": token, "choices": ", ".join(SCOPES)},
        )
    return names


def normalize(value: str) -> str:
    """The smallest equivalent scope string, in canonical order: ``READ write`` -> ``WRITE``."""
    names = set(parse(value))
    kept = {
        name for name in names if not any(name in implied_by(other) - {other} for other in names)
    }
    return " ".join(name for name in SCOPES if name in kept)


def covers(granted: str, required: str) -> bool:
    """Whether a grant of ``granted`` includes everything ``required`` asks for."""
    have: set[str] = set()
    for name in parse(granted):
        have |= implied_by(name)
    return all(name in have for name in parse(required))


def validate_scope(value: str) -> None:
    """Model and form validator."""
    parse(value)
