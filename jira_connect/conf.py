"""The app's settings: one dict, ``settings.JIRA_CONNECT``, read live.

Each property validates its value and raises ``JiraConnectConfigurationError``
naming the exact key, so a typo surfaces as a clear message (and as a system
check error, see ``checks.py``) instead of a confusing failure deep in a
request.

Validated values are kept until Django's ``setting_changed`` signal says
``JIRA_CONNECT`` changed (``override_settings``, pytest-django's ``settings``
fixture), so a call to Jira does not re-validate the dict on every request,
and a change still takes effect at once. Nothing is snapshotted at import
time; an invalid value is never kept, so it fails on every read.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar, overload

from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from jira_connect.exceptions import JiraConnectConfigurationError

SETTING_NAME = "JIRA_CONNECT"

DEFAULTS: Mapping[str, Any] = {
    "ENCRYPTION_KEYS": (),
    "TENANT_RESOLVER": "jira_connect.tenancy.no_tenant",
    "LINK_ACCESS_POLICY": "jira_connect.tenancy.allow_active_users",
    "CALLBACK_URL": "",
    "HTTP_TIMEOUT": 10.0,
    "REFRESH_LEEWAY": 60,
    "STATE_TTL": 600,
    "ALLOW_HTTP": False,
    "JIRA_HOSTS": (),
    "REFRESH_RETRY_AFTER": 30,
    "RATE_LIMIT_RETRIES": 3,
    "RATE_LIMIT_MAX_WAIT": 60,
    "API_AUTHENTICATION": "jira_connect.api.session_user",
    "CONFIGURE_SESSION": "jira_connect.transport.default_session",
    "ASYNC_CLIENT_OPTIONS": "jira_connect.transport.default_async_client_options",
}

#: An HTTP timeout as requests takes it: one number, or (connect, read) seconds.
Timeout = float | tuple[float, float]


def key_name(key: str) -> str:
    """How a key is named in messages: ``JIRA_CONNECT["HTTP_TIMEOUT"]``."""
    return f'{SETTING_NAME}["{key}"]'


_T = TypeVar("_T")
_NOTHING = object()
#: Where ``django.conf.settings`` (a ``LazySettings``) keeps each setting it has served, to
#: serve it again without a Python-level lookup; emptied whenever the settings are replaced
#: (``override_settings``) and updated when one is set or deleted. Read first, with a plain
#: ``getattr`` when the setting is not there: half the cost of a call's settings reads.
_SERVED: dict[str, Any] = object.__getattribute__(django_settings, "__dict__")


class _Kept(Generic[_T]):
    """A validated setting, kept until ``JIRA_CONNECT`` changes (used like ``@property``).

    Kept values belong to the setting object they were read from: another
    object (``override_settings``, or pytest-django's ``del settings.X``, which
    sends no ``setting_changed``) starts afresh, and so does the signal. A
    value that fails validation is never kept.
    """

    def __init__(self, getter: Callable[[JiraConnectSettings], _T]) -> None:
        self._getter = getter
        self._name = getter.__name__
        self.__doc__ = getter.__doc__

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> _Kept[_T]: ...

    @overload
    def __get__(self, instance: JiraConnectSettings, owner: type[Any]) -> _T: ...

    def __get__(self, instance: JiraConnectSettings | None, owner: type[Any]) -> _T | _Kept[_T]:
        if instance is None:
            return self
        source = _SERVED.get(SETTING_NAME, _NOTHING)
        if source is _NOTHING:
            source = getattr(django_settings, SETTING_NAME, None)
        source_of_store, store = instance._store
        if source_of_store is not source:
            store = {}
            instance._store = (source, store)
        try:
            return store[self._name]  # type: ignore[no-any-return]
        except KeyError:
            value = store[self._name] = self._getter(instance)
            return value


class JiraConnectSettings:
    """Typed, validated, live view of ``settings.JIRA_CONNECT``."""

    def __init__(self) -> None:
        self._store: tuple[object, dict[str, Any]] = (_NOTHING, {})

    def reset(self) -> None:
        """Forget the validated values: the next read takes the setting afresh."""
        self._store = (_NOTHING, {})

    @_Kept
    def raw(self) -> Mapping[str, Any]:
        value = getattr(django_settings, SETTING_NAME, None)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise JiraConnectConfigurationError(
                f"{SETTING_NAME} must be a dict, not {type(value).__name__}."
            )
        return value

    def unknown_keys(self) -> list[str]:
        return sorted(key for key in self.raw if key not in DEFAULTS)

    def _get(self, key: str) -> Any:
        return self.raw.get(key, DEFAULTS[key])

    def _fail(self, key: str, problem: str) -> JiraConnectConfigurationError:
        return JiraConnectConfigurationError(f"{key_name(key)} {problem}")

    @_Kept
    def ENCRYPTION_KEYS(self) -> tuple[bytes, ...]:
        """Fernet keys protecting secrets at rest: the first encrypts, all decrypt.

        Generate one with ``python -c "from cryptography.fernet import Fernet;
        print(Fernet.generate_key().decode())"``. To rotate, put the new key
        first, keep the old ones after it, run ``manage.py
        jira_connect_rotate_keys``, then drop the old keys. Empty means: derive a
        key from ``SECRET_KEY``, which is allowed only with ``DEBUG = True``.
        """
        key = "ENCRYPTION_KEYS"
        value = self._get(key)
        if isinstance(value, (str, bytes)):
            raise self._fail(key, "must be a list of Fernet keys, not a single string.")
        if not isinstance(value, Sequence):
            raise self._fail(key, f"must be a list of Fernet keys, not {type(value).__name__}.")
        keys: list[bytes] = []
        for position, item in enumerate(value):
            encoded = item.encode() if isinstance(item, str) else item
            if not isinstance(encoded, bytes) or not _is_fernet_key(encoded):
                raise self._fail(
                    key,
                    f"item {position} is not a valid Fernet key (32 url-safe "
                    "base64-encoded bytes, as Fernet.generate_key() makes).",
                )
            keys.append(encoded)
        return tuple(keys)

    @_Kept
    def TENANT_RESOLVER(self) -> Callable[[Any], str | None]:
        """Dotted path to ``resolver(request) -> tenant key or None``.

        The default returns ``None``: only links with a blank tenant are offered.
        """
        return self._callable("TENANT_RESOLVER")

    @_Kept
    def LINK_ACCESS_POLICY(self) -> Callable[[Any, Any], bool]:
        """Dotted path to ``policy(user, link) -> bool``.

        The default allows any authenticated, active user.
        """
        return self._callable("LINK_ACCESS_POLICY")

    @_Kept
    def API_AUTHENTICATION(self) -> Callable[[Any], Any]:
        """Dotted path to ``authenticate(request) -> user or None`` for the JSON API.

        The default returns the user of the session. Sites whose front end
        sends a token instead name a callable that checks it (DRF's or
        allauth headless's authentication, for example).
        """
        return self._callable("API_AUTHENTICATION")

    @_Kept
    def CONFIGURE_SESSION(self) -> Callable[[Any, Any], None]:
        """Dotted path to ``configure(session, link) -> None``: the site's say in every
        ``requests.Session`` the app builds to reach ``link`` (``jira_connect.transport``)."""
        return self._callable("CONFIGURE_SESSION")

    @_Kept
    def ASYNC_CLIENT_OPTIONS(self) -> Callable[[Any], Mapping[str, Any]]:
        """Dotted path to ``options(link) -> dict``: keyword arguments for every
        ``httpx.AsyncClient`` the app builds to reach ``link`` (``jira_connect.transport``)."""
        return self._callable("ASYNC_CLIENT_OPTIONS")

    @_Kept
    def CALLBACK_URL(self) -> str:
        """Absolute Redirect URL to register in Jira, for sites behind a proxy.

        Empty (the default) builds it from the request and the ``callback`` URL.
        """
        key = "CALLBACK_URL"
        value = self._get(key)
        if not isinstance(value, str):
            raise self._fail(key, "must be a string (an absolute URL) or empty.")
        if value and not value.startswith(("https://", "http://")):
            raise self._fail(
                key, "must be an absolute http(s) URL, e.g. https://app.example.com/jira/callback/."
            )
        return value

    @_Kept
    def HTTP_TIMEOUT(self) -> Timeout:
        """Seconds every call to Jira may take, or a ``(connect, read)`` pair."""
        key = "HTTP_TIMEOUT"
        value = self._get(key)
        if isinstance(value, (list, tuple)):
            if len(value) != 2 or not all(_is_positive_number(part) for part in value):
                raise self._fail(
                    key, "must be a positive number of seconds or a (connect, read) pair of them."
                )
            return (float(value[0]), float(value[1]))
        if not _is_positive_number(value):
            raise self._fail(
                key, "must be a positive number of seconds or a (connect, read) pair of them."
            )
        return float(value)

    @_Kept
    def REFRESH_LEEWAY(self) -> int:
        """Seconds before expiry at which an access token is refreshed before use."""
        return self._non_negative_int("REFRESH_LEEWAY")

    @_Kept
    def REFRESH_RETRY_AFTER(self) -> int:
        """Seconds to wait after a failed refresh (Jira down, 5xx) before asking Jira again.

        Callers arriving meanwhile get ``JiraUnavailable`` at once, so a burst of
        requests does not hammer a Jira that is struggling. 0 turns it off.
        """
        return self._non_negative_int("REFRESH_RETRY_AFTER")

    @_Kept
    def STATE_TTL(self) -> int:
        """Seconds a started authorisation stays valid (the user's time on Jira's consent page)."""
        value = self._non_negative_int("STATE_TTL")
        if value == 0:
            raise self._fail("STATE_TTL", "must be at least 1 second.")
        return value

    @_Kept
    def ALLOW_HTTP(self) -> bool:
        """Allow plain ``http://`` Jira base URLs (simulator and local development only)."""
        key = "ALLOW_HTTP"
        value = self._get(key)
        if not isinstance(value, bool):
            raise self._fail(key, "must be True or False.")
        return value

    @_Kept
    def JIRA_HOSTS(self) -> tuple[str, ...]:
        """Host names a link's base URL may point at; empty allows any.

        Entries match like ``ALLOWED_HOSTS``: ``jira.example.com`` exactly,
        ``.example.com`` for the domain and every subdomain.
        """
        key = "JIRA_HOSTS"
        value = self._get(key)
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise self._fail(key, "must be a list of host names.")
        hosts: list[str] = []
        for item in value:
            if not isinstance(item, str) or not item.strip(". "):
                raise self._fail(key, f"contains {item!r}, which is not a host name.")
            hosts.append(item.strip().lower())
        return tuple(hosts)

    @_Kept
    def RATE_LIMIT_RETRIES(self) -> int:
        """Retries of an idempotent call Jira answered 429, or 503 with ``Retry-After``.

        0 turns them off: Jira's answer goes straight back to the caller.
        """
        key = "RATE_LIMIT_RETRIES"
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self._fail(key, "must be a whole number of retries, 0 (off) or more.")
        return value

    @_Kept
    def RATE_LIMIT_MAX_WAIT(self) -> float:
        """The longest single wait before a retry, in seconds.

        A longer ``Retry-After`` returns Jira's answer at once rather than
        holding the caller (a web request, a worker) that long.
        """
        key = "RATE_LIMIT_MAX_WAIT"
        value = self._get(key)
        if not _is_positive_number(value) or value < 1:
            raise self._fail(
                key,
                "must be a number of seconds, at least 1 (every wait is at least 1 second; "
                'set JIRA_CONNECT["RATE_LIMIT_RETRIES"] to 0 to turn retries off).',
            )
        return float(value)

    def _callable(self, key: str) -> Callable[..., Any]:
        value = self._get(key)
        if callable(value):
            return value  # type: ignore[no-any-return]
        if not isinstance(value, str) or not value:
            raise self._fail(key, "must be a dotted path to a callable.")
        try:
            target = import_string(value)
        except ImportError as err:
            raise self._fail(key, f"is {value!r}, which cannot be imported: {err}") from err
        if not callable(target):
            raise self._fail(key, f"is {value!r}, which is not callable.")
        return target  # type: ignore[no-any-return]

    def _non_negative_int(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self._fail(key, "must be a whole number of seconds, 0 or more.")
        return value


def _is_positive_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _is_fernet_key(value: bytes) -> bool:
    try:
        return len(base64.urlsafe_b64decode(value)) == 32
    except (binascii.Error, ValueError):
        return False


app_settings = JiraConnectSettings()


def _forget_validated(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING_NAME:
        app_settings.reset()


setting_changed.connect(_forget_validated, dispatch_uid="jira_connect.conf.forget_validated")
