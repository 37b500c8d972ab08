"""Jira DC incoming-link scopes: the names, what they mean, and how they combine.

Kept apart from the provider logic because the consent page, the token endpoint and the REST
permission check all need the same hierarchy (jira-dc-oauth.md §3).
"""

from __future__ import annotations

# Each chain is ordered from weakest to strongest; a scope covers everything before it in its chain.
# WRITE ⊃ READ, ADMIN ⊃ WRITE, SYSTEM_ADMIN ⊃ ADMIN; MANAGE_SUBSCRIPTIONS ⊃ READ_ALL (Jira 10.3).
_CHAINS: tuple[tuple[str, ...], ...] = (
    ("READ", "WRITE", "ADMIN", "SYSTEM_ADMIN"),
    ("READ_ALL", "MANAGE_SUBSCRIPTIONS"),
)

JIRA_SCOPES: tuple[str, ...] = tuple(scope for chain in _CHAINS for scope in chain)

# Atlassian's one-line meaning of each scope, shown on the consent page.
SCOPE_DESCRIPTIONS: dict[str, str] = {
    "READ": "View projects and issues, plus related items and your own profile.",
    "WRITE": "Create, update and delete projects and issues; change your profile.",
    "ADMIN": "Perform most admin functions, but not backups, imports or infrastructure.",
    "SYSTEM_ADMIN": "Perform all admin functions.",
    "READ_ALL": (
        "Read all content, users, groups and permissions without needing a user account. "
        "Ignores all permissions."
    ),
    "MANAGE_SUBSCRIPTIONS": (
        "Manage subscriptions for incremental-sync services, plus everything READ_ALL allows."
    ),
}


def _position(scope: str) -> tuple[int, int]:
    for chain_index, chain in enumerate(_CHAINS):
        if scope in chain:
            return chain_index, chain.index(scope)
    raise ValueError(f"not a Jira DC scope: {scope!r}")


def split_scope(value: str | None) -> list[str]:
    """Split a space-separated scope string (commas tolerated) into its names, in order."""
    if not value:
        return []
    return [part for part in value.replace(",", " ").split() if part]


def is_valid_scope_string(value: str) -> bool:
    """True when every name in `value` is a Jira DC scope (and there is at least one)."""
    names = split_scope(value)
    return bool(names) and all(name in JIRA_SCOPES for name in names)


def covers(held: str, wanted: str) -> bool:
    """True when holding `held` grants everything `wanted` grants."""
    held_chain, held_rank = _position(held)
    wanted_chain, wanted_rank = _position(wanted)
    return held_chain == wanted_chain and held_rank >= wanted_rank


def covers_any(held: list[str], wanted: str) -> bool:
    """True when one of the `held` scopes covers `wanted`."""
    return any(covers(scope, wanted) for scope in held)


def normalize(scopes: list[str]) -> list[str]:
    """Drop duplicates and scopes implied by others; return them in canonical order."""
    kept = {scope for scope in scopes if not any(covers(o, scope) and o != scope for o in scopes)}
    return [scope for scope in JIRA_SCOPES if scope in kept]


def cap(requested: list[str], allowed: list[str]) -> list[str]:
    """Cap each requested scope to what the client's incoming link allows.

    A scope the link covers is granted as asked; a stronger one is lowered to the strongest
    allowed scope of the same chain; one with nothing below it in the link is dropped. Asking
    for nothing grants the link's scope.
    """
    if not requested:
        return normalize(allowed)
    granted: list[str] = []
    for scope in requested:
        if covers_any(allowed, scope):
            granted.append(scope)
            continue
        chain, rank = _position(scope)
        lower = [a for a in allowed if _position(a)[0] == chain and _position(a)[1] < rank]
        if lower:
            granted.append(max(lower, key=lambda a: _position(a)[1]))
    return normalize(granted)
