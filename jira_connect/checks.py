"""System checks: catch a bad configuration at ``manage.py check`` and deploy time.

Ids are never reused; a retired id stays listed here as a comment.

========================  =====================================================
jira_connect.E001         ``JIRA_CONNECT`` is not a dict
jira_connect.E002         a ``JIRA_CONNECT`` key has an invalid value
jira_connect.E003         no encryption key, and ``DEBUG`` is off
jira_connect.E004         sessions framework missing (state is kept in the session)
jira_connect.E005         messages framework missing (outcomes are reported with it)
jira_connect.W001         no encryption key: one derived from ``SECRET_KEY`` is used
jira_connect.W002         unknown ``JIRA_CONNECT`` key (probably a typo)
jira_connect.W003         ``ALLOW_HTTP`` on while ``DEBUG`` is off
jira_connect.W004         ``CALLBACK_URL`` is plain http while ``DEBUG`` is off
jira_connect.W005         the same encryption key is listed twice
jira_connect.I001         DEBUG is on and the debug page would show the secrets of a failing exchange
jira_connect.W007         retired: ATOMIC_REQUESTS no longer delays a refresh's commit (see W009)
jira_connect.W009         ATOMIC_REQUESTS on SQLite: a refresh joins the request's transaction
jira_connect.W008         no ``request`` context processor: the button cannot tell who is connected
jira_connect.E006         an active link uses http:// while ALLOW_HTTP is off (``check --database``)
jira_connect.W006         an active link does not verify TLS while DEBUG is off (``check --database``)
jira_connect.E007         stored secrets that no key in ENCRYPTION_KEYS decrypts (``check --database``)
========================  =====================================================
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Info, Warning
from django.db import DatabaseError, transaction
from django.utils.module_loading import import_string

from jira_connect.conf import DEFAULTS, SETTING_NAME, app_settings, key_name
from jira_connect.exceptions import JiraConnectConfigurationError

_GENERATE_KEY = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


def check_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Every key of ``JIRA_CONNECT`` validates, and nothing unknown is in it."""
    try:
        app_settings.raw  # noqa: B018 - validates the type of the setting itself
    except JiraConnectConfigurationError as err:
        return [
            Error(
                str(err),
                hint=f"Set {SETTING_NAME} = {{...}} in your settings.",
                id="jira_connect.E001",
            )
        ]
    messages: list[CheckMessage] = []
    invalid: set[str] = set()
    for key in DEFAULTS:
        try:
            getattr(app_settings, key)
        except JiraConnectConfigurationError as err:
            invalid.add(key)
            messages.append(
                Error(
                    str(err),
                    hint=f"Fix {key_name(key)}, or remove it to use the default. See the settings reference.",
                    id="jira_connect.E002",
                )
            )
    for key in app_settings.unknown_keys():
        close = difflib.get_close_matches(str(key), list(DEFAULTS), n=1)
        hint = f"Did you mean {close[0]!r}?" if close else f"Known keys: {', '.join(DEFAULTS)}."
        messages.append(
            Warning(
                f"{SETTING_NAME} has an unknown key {key!r}.", hint=hint, id="jira_connect.W002"
            )
        )
    if "ENCRYPTION_KEYS" not in invalid:
        messages.extend(_check_encryption_keys())
    if not invalid & {"ALLOW_HTTP", "CALLBACK_URL"}:
        messages.extend(_check_transport())
    return messages


def _check_encryption_keys() -> list[CheckMessage]:
    keys = app_settings.ENCRYPTION_KEYS
    if not keys and not settings.DEBUG:
        return [
            Error(
                f"{key_name('ENCRYPTION_KEYS')} is empty, so Jira secrets and tokens cannot be encrypted.",
                hint=f"Generate a key with {_GENERATE_KEY} and put it in {key_name('ENCRYPTION_KEYS')} "
                "(read it from the environment; keep it out of version control).",
                id="jira_connect.E003",
            )
        ]
    if not keys:
        return [
            Warning(
                f"{key_name('ENCRYPTION_KEYS')} is empty: secrets are encrypted with a key derived "
                "from SECRET_KEY, which is allowed only while DEBUG is on.",
                hint=f"Generate a key with {_GENERATE_KEY} and set {key_name('ENCRYPTION_KEYS')}.",
                id="jira_connect.W001",
            )
        ]
    if len(set(keys)) != len(keys):
        return [
            Warning(
                f"{key_name('ENCRYPTION_KEYS')} lists the same key more than once.",
                hint="Keep each key once: the first encrypts, the others only decrypt.",
                id="jira_connect.W005",
            )
        ]
    return []


def _check_transport() -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if settings.DEBUG:
        return messages
    if app_settings.ALLOW_HTTP:
        messages.append(
            Warning(
                f"{key_name('ALLOW_HTTP')} is on while DEBUG is off: tokens may travel unencrypted.",
                hint="Use https:// Jira base URLs in production and turn ALLOW_HTTP off.",
                id="jira_connect.W003",
            )
        )
    if app_settings.CALLBACK_URL.startswith("http://"):
        messages.append(
            Warning(
                f"{key_name('CALLBACK_URL')} is a plain http:// URL while DEBUG is off: Jira sends "
                "authorisation codes to it unencrypted, and refuses it unless told to skip its HTTPS check.",
                hint="Serve the site over HTTPS and use an https:// callback URL.",
                id="jira_connect.W004",
            )
        )
    return messages


def check_debug_page(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Under DEBUG, Django's error page shows the locals Django would otherwise hide."""
    if not settings.DEBUG:
        return []
    from jira_connect.debug import SensitiveExceptionReporterFilter

    try:
        reporter_filter = import_string(settings.DEFAULT_EXCEPTION_REPORTER_FILTER)
    except ImportError:
        reporter_filter = None  # Django's own check reports a broken path
    if isinstance(reporter_filter, type) and issubclass(
        reporter_filter, SensitiveExceptionReporterFilter
    ):
        return []
    return [
        Info(
            "With DEBUG on, Django's error page shows the client secret, codes and tokens held by a "
            "failing Jira call: Django hides variables marked sensitive only when DEBUG is off.",
            hint='Set DEFAULT_EXCEPTION_REPORTER_FILTER = "jira_connect.debug.SensitiveExceptionReporterFilter".',
            id="jira_connect.I001",
        )
    ]


def check_request_handling(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Settings of the host site that quietly change how the app behaves in a request."""
    messages: list[CheckMessage] = []
    # On PostgreSQL and MariaDB/MySQL a refresh inside the request's transaction commits on a
    # connection of its own; SQLite allows one writer at a time, so there it joins the request's.
    atomic = [
        alias
        for alias, config in settings.DATABASES.items()
        if config.get("ATOMIC_REQUESTS") and str(config.get("ENGINE", "")).endswith("sqlite3")
    ]
    if atomic:
        messages.append(
            Warning(
                f"ATOMIC_REQUESTS is on for SQLite ({', '.join(atomic)}): a token refresh during a "
                "request joins the request's transaction. If the view then fails, the new tokens "
                "are kept only in this process's memory, and another process would find the "
                "retired ones and have to ask the user to reconnect.",
                hint="Use PostgreSQL or MariaDB/MySQL in production, where a refresh commits on its "
                "own; or decorate views that call Jira with @transaction.non_atomic_requests.",
                id="jira_connect.W009",
            )
        )
    engines = [
        t
        for t in getattr(settings, "TEMPLATES", [])
        if t.get("BACKEND", "").endswith("DjangoTemplates")
    ]
    processors = {p for t in engines for p in t.get("OPTIONS", {}).get("context_processors", [])}
    if engines and "django.template.context_processors.request" not in processors:
        messages.append(
            Warning(
                "The 'request' context processor is not enabled: {% jira_connect_button %} cannot "
                "see the user, so it can only link to the connections page.",
                hint="Add 'django.template.context_processors.request' to your template engine's "
                "context_processors.",
                id="jira_connect.W008",
            )
        )
    return messages


def check_frameworks(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """The sessions and messages frameworks the connect flow relies on."""
    messages: list[CheckMessage] = []
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    # Any session engine will do (signed cookies too), so only the middleware is required.
    if not _has_middleware(middleware, "django.contrib.sessions.middleware.SessionMiddleware"):
        messages.append(
            _missing(
                "sessions",
                "Add 'django.contrib.sessions.middleware.SessionMiddleware' to MIDDLEWARE "
                "(and 'django.contrib.sessions' to INSTALLED_APPS for database sessions).",
                "E004",
            )
        )
    if not apps.is_installed("django.contrib.messages") or not _has_middleware(
        middleware, "django.contrib.messages.middleware.MessageMiddleware"
    ):
        messages.append(
            _missing(
                "messages",
                "Add 'django.contrib.messages' to INSTALLED_APPS and "
                "'django.contrib.messages.middleware.MessageMiddleware' to MIDDLEWARE.",
                "E005",
            )
        )
    return messages


def _missing(framework: str, hint: str, number: str) -> Error:
    why = {
        "sessions": "the state of a started authorisation is kept in the user's session",
        "messages": "the outcome of connecting and disconnecting is reported with messages",
    }[framework]
    return Error(
        f"django-jira-connect needs Django's {framework} framework: {why}.",
        hint=hint,
        id=f"jira_connect.{number}",
    )


def _has_middleware(middleware: list[str], wanted: str) -> bool:
    target = import_string(wanted)
    for path in middleware:
        try:
            cls = import_string(path)
        except ImportError:
            continue
        if isinstance(cls, type) and issubclass(cls, target):
            return True
    return False


def check_links(
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """Stored links that would fail or be unsafe in production.

    Runs only with ``manage.py check --database default`` (Django keeps
    database checks out of the usual ``check``).
    """
    if not databases:
        return []
    from jira_connect.models import JiraLink

    messages: list[CheckMessage] = []
    try:
        allow_http = app_settings.ALLOW_HTTP
    except JiraConnectConfigurationError:
        return messages  # reported as E002
    for database in databases:
        try:
            # A savepoint, so a missing table does not abort a surrounding transaction.
            with transaction.atomic(using=database):
                links = list(
                    JiraLink.objects.using(database)
                    .filter(is_active=True)
                    .only("slug", "base_url", "verify_tls")
                )
        except DatabaseError:
            continue  # not migrated yet: ``migrate`` runs the database checks first
        for link in links:
            if link.base_url.startswith("http://") and not allow_http:
                messages.append(
                    Error(
                        f"The Jira link {link.slug!r} uses {link.base_url}, a plain http:// URL, "
                        f"while {key_name('ALLOW_HTTP')} is off: connecting will fail.",
                        hint="Change the link to Jira's https:// address in the admin.",
                        obj=link,
                        id="jira_connect.E006",
                    )
                )
            if not link.verify_tls and not settings.DEBUG:
                messages.append(
                    Warning(
                        f"The Jira link {link.slug!r} does not verify Jira's TLS certificate: anyone "
                        "on the network path can read its tokens.",
                        hint="Turn certificate verification on; for a private CA, paste its certificate "
                        "in the link's CA certificates instead.",
                        obj=link,
                        id="jira_connect.W006",
                    )
                )
        messages.extend(_unreadable_secrets(database))
    return messages


def _unreadable_secrets(database: str) -> list[CheckMessage]:
    """E007: stored secrets that no configured key decrypts, counted per model."""
    from jira_connect.fields import EncryptedTextField, UnreadableSecret
    from jira_connect.models import JiraConnection, JiraLink

    messages: list[CheckMessage] = []
    for model in (JiraLink, JiraConnection):
        names = [f.name for f in model._meta.fields if isinstance(f, EncryptedTextField)]
        try:
            with transaction.atomic(using=database):
                rows = model._default_manager.using(database).only("pk", *names)
                unreadable = sum(
                    1
                    for row in rows.iterator(chunk_size=2000)
                    for name in names
                    if isinstance(getattr(row, name), UnreadableSecret)
                )
        except (DatabaseError, JiraConnectConfigurationError):
            continue  # not migrated yet, or no keys at all (E003)
        if unreadable:
            plural = model._meta.verbose_name_plural
            messages.append(
                Error(
                    f"{unreadable} stored secrets of {plural} cannot be decrypted with any key in "
                    f"{key_name('ENCRYPTION_KEYS')}: those links and connections cannot be used.",
                    hint="Put back the key they were encrypted with (keep it after the new one), "
                    "then run manage.py jira_connect_rotate_keys before removing it again.",
                    id="jira_connect.E007",
                )
            )
    return messages
