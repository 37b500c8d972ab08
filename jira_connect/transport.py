"""A link's transport settings: which hosts it may reach, and how TLS is verified.

Every call the app makes to a link (token calls, identity checks, the
host's API calls through ``connection.session()``) takes its TLS settings
from here, so a link's own CA bundle and its "verify TLS" switch win over
``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` in the environment, which requests
would otherwise let override a session's ``verify``.

The site has its say through two settings, as django-anymail's
``create_session()`` and allauth's ``get_requests_session()`` give theirs:
``CONFIGURE_SESSION`` sees every ``requests.Session`` built for a link
(proxies, a client certificate, headers, response hooks, adapters), and
``ASYNC_CLIENT_OPTIONS`` adds keyword arguments to every ``httpx.AsyncClient``.
What keeps the tokens safe stays the app's: the link's TLS adapter is mounted
and the session's ``auth`` reset after the site's hook, and the async options
may not set TLS verification, redirects, auth, the timeout or the base URL.

A private CA is loaded into an ``ssl.SSLContext`` from the PEM stored on the
link, never written to a file: there is no path another user of the host
could plant a certificate at.
"""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from requests.adapters import HTTPAdapter

from jira_connect import __version__
from jira_connect.conf import app_settings, key_name
from jira_connect.exceptions import JiraConnectConfigurationError
from jira_connect.validators import validate_base_url

if TYPE_CHECKING:
    from requests import PreparedRequest, Response, Session
    from requests.adapters import _HostParams, _PoolKwargs

    from jira_connect.models import JiraLink

#: Sent on every call to Jira: the token and identity calls, ``session()`` and ``asession()``.
USER_AGENT: Final = f"django-jira-connect/{__version__}"

#: What TLS verification a call uses: off, on with the system's CAs, or a link's own CAs.
Verify = bool | ssl.SSLContext


def ensure_allowed(link: JiraLink) -> None:
    """Check the base URL again at call time, not only when it was saved.

    ``ALLOW_HTTP`` and ``JIRA_HOSTS`` may have been tightened since: a stored
    link must not keep reaching a host the site no longer allows.
    """
    try:
        validate_base_url(link.base_url)
    except ValidationError as err:
        raise JiraConnectConfigurationError(
            f"The Jira link {link.slug!r} may not be used: {' '.join(err.messages)}"
        ) from None


def tls_verify(link: JiraLink) -> Verify:
    """How calls to ``link`` verify TLS: ``False``, ``True`` (system CAs) or the link's CAs."""
    if not link.verify_tls:
        return False
    pem = link.ca_bundle.strip()
    if not pem:
        return True
    return _context_for(pem)


@functools.lru_cache(maxsize=64)
def _context_for(pem: str) -> ssl.SSLContext:
    # One context per distinct bundle, shared by every call: contexts are safe to share
    # between threads once built, and building one parses every certificate.
    return ssl.create_default_context(cadata=pem)


class LinkTLSAdapter(HTTPAdapter):
    """An adapter that verifies TLS the link's way, whatever ``verify`` a call carries.

    requests fills a call's ``verify`` from ``REQUESTS_CA_BUNDLE`` or
    ``CURL_CA_BUNDLE`` when the environment sets them; mounted for the link's
    origin, this adapter puts the link's own choice back. With ``verify=True``
    it changes nothing, so a link without a CA of its own follows the
    environment as every requests call does.
    """

    def __init__(self, verify: Verify, **kwargs: Any) -> None:
        self._link_verify = verify
        #: Whether a CA bundle path (``REQUESTS_CA_BUNDLE``, a call's ``verify=``) is a
        #: directory, asked once per path: requests asks the file system on every call.
        self._ca_is_dir: dict[str, bool] = {}
        super().__init__(**kwargs)

    def build_connection_pool_key_attributes(
        self, request: PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[_HostParams, _PoolKwargs]:
        """requests' own pool key (requests 2.32 and later call this), with a CA bundle path
        looked up once: the same ``ca_certs`` or ``ca_cert_dir`` as requests would set."""
        if not isinstance(verify, str):
            return super().build_connection_pool_key_attributes(request, verify, cert)
        is_dir = self._ca_is_dir.get(verify)
        if is_dir is None:
            if len(self._ca_is_dir) >= 16:
                self._ca_is_dir.clear()
            is_dir = self._ca_is_dir[verify] = os.path.isdir(verify)
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, True, cert)
        if is_dir:
            pool_kwargs["ca_cert_dir"] = verify
        else:
            pool_kwargs["ca_certs"] = verify
        return host_params, pool_kwargs

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if isinstance(self._link_verify, ssl.SSLContext):
            kwargs["ssl_context"] = self._link_verify
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        if isinstance(self._link_verify, ssl.SSLContext):
            proxy_kwargs["ssl_context"] = self._link_verify
        return super().proxy_manager_for(proxy, **proxy_kwargs)

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        if self._link_verify is False:
            verify = False
        elif isinstance(self._link_verify, ssl.SSLContext):
            verify = True  # the pool's context holds the link's CAs
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )


def mount_link_adapter(session: Session, url: str, verify: Verify) -> None:
    """Make ``LinkTLSAdapter`` the adapter for every URL on ``url``'s origin.

    requests picks the longest matching mount prefix, so an adapter the site
    mounted for a path on the origin (``CONFIGURE_SESSION``) would win over
    the origin's: those are dropped. Adapters for other origins stay.
    """
    prefix = origin_prefix(url)
    for mounted in list(session.adapters):
        if mounted.lower().startswith(prefix) and mounted.lower() != prefix:
            del session.adapters[mounted]
    session.mount(prefix, LinkTLSAdapter(verify))


def origin_prefix(url: str) -> str:
    """The mount prefix requests matches for every URL on ``url``'s origin."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}/"


def default_session(session: Session, link: JiraLink) -> None:
    """``CONFIGURE_SESSION``'s default: the session exactly as the app builds it."""


def default_async_client_options(link: JiraLink) -> dict[str, Any]:
    """``ASYNC_CLIENT_OPTIONS``'s default: no options beyond the app's own."""
    return {}


def session_hook(link: JiraLink) -> Callable[[Session], None] | None:
    """The site's ``CONFIGURE_SESSION`` for ``link``, for a session built without the link
    at hand (the token and identity calls of ``jira_connect.oauth``); None when the site
    configures nothing, so a bulk refresh's workers may keep their sessions (``_http``)."""
    configure = app_settings.CONFIGURE_SESSION
    if configure is default_session:
        return None
    return lambda session: configure(session, link)


#: What the app decides for every httpx client: ``ASYNC_CLIENT_OPTIONS`` may not set these.
APP_CLIENT_OPTIONS: Final = frozenset(
    {"verify", "follow_redirects", "auth", "timeout", "base_url", "max_redirects"}
)


def async_client_options(link: JiraLink) -> dict[str, Any]:
    """The site's ``ASYNC_CLIENT_OPTIONS`` for ``link``, checked against ``APP_CLIENT_OPTIONS``."""
    options = dict(app_settings.ASYNC_CLIENT_OPTIONS(link))
    taken = sorted(options.keys() & APP_CLIENT_OPTIONS)
    if taken:
        raise JiraConnectConfigurationError(
            f"{key_name('ASYNC_CLIENT_OPTIONS')} may not set {', '.join(taken)}: the app sets "
            "them from the link and the other settings."
        )
    return options
