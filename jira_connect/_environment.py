"""What requests takes from the environment for a call, read once per session.

A ``requests.Session`` that trusts the environment (the default) reads it again
on every call: the proxy variables (urllib's ``getproxies`` and
``proxy_bypass``, each a scan of ``os.environ``), ``no_proxy`` against the
call's host, and ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``. On loopback that
is most of the client's own time per call, and it grows with the number of
variables in the process. A Jira session talks to one host for its short life,
so this reads the proxies and the CA bundle once, when the session is made,
and decides ``no_proxy`` once per host, with requests' own functions, so the
answers are requests' answers. A change to the environment reaches the next
session, not a running one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from urllib.request import getproxies

import requests
from requests.sessions import merge_setting
from requests.utils import should_bypass_proxies

if TYPE_CHECKING:
    from requests.sessions import _Cert, _Settings, _Verify

#: Hosts whose ``no_proxy`` decision a session keeps; a session that calls more starts over.
MAX_HOSTS = 64


class Environment:
    """Proxies and CA bundle from the environment, as requests would read them now."""

    def __init__(self) -> None:
        self.proxies: Mapping[str, str] = getproxies()
        self.ca_bundle: str | None = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None
        )
        self._bypass: dict[tuple[str, str | None], bool] = {}
        self._lock = threading.Lock()

    def proxies_for(self, url: str, no_proxy: str | None = None) -> Mapping[str, str]:
        """The environment's proxies for ``url``: none when ``no_proxy`` exempts its host.

        ``no_proxy`` is the call's own ``proxies["no_proxy"]``, if any; without
        it the environment's ``no_proxy`` / ``NO_PROXY`` applies, as in requests.
        The answer depends only on the host and port, so it is kept per host.
        """
        if not self.proxies:
            return self.proxies
        key = (urlsplit(url).netloc, no_proxy)
        bypass = self._bypass.get(key)
        if bypass is None:
            bypass = should_bypass_proxies(url, no_proxy=no_proxy)
            with self._lock:
                if len(self._bypass) >= MAX_HOSTS:
                    self._bypass.clear()
                self._bypass[key] = bypass
        return {} if bypass else self.proxies


class EnvironmentOnce(requests.Session):
    """A ``requests.Session`` that reads what requests takes from the environment once, when
    it is made (``Environment``), instead of on every call: ``JiraSession``, and the sessions
    that make the token calls (``jira_connect._http``)."""

    def __init__(self) -> None:
        super().__init__()
        self._environment = Environment()

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: MutableMapping[str, str] | None,
        stream: bool | None,
        verify: _Verify | None,
        cert: _Cert | None,
    ) -> _Settings:
        """requests' own merge, with the environment read once per session.

        As in requests: the call's own settings win, then the environment's
        proxies (unless ``no_proxy`` exempts the host) and CA bundle, then the
        session's. With ``trust_env`` off, nothing comes from the environment.
        A link's own TLS choice (its CA certificates, or verification off)
        still wins over ``REQUESTS_CA_BUNDLE``: the adapter mounted for the
        link's origin (``transport.LinkTLSAdapter``) applies it to every call.
        """
        environment = self._environment
        if self.trust_env:
            if proxies is not None:
                target = url.decode() if isinstance(url, bytes) else url or ""
                no_proxy = proxies.get("no_proxy")
                for scheme, proxy in environment.proxies_for(target, no_proxy).items():
                    proxies.setdefault(scheme, proxy)
            default_trust = verify is True or (verify is None and self.verify is True)
            if environment.ca_bundle and default_trust:
                verify = environment.ca_bundle
        return {
            "proxies": _merged_proxies(proxies, self.proxies),
            "stream": self.stream if stream is None else stream,
            "verify": self.verify if verify is None else verify,
            "cert": self.cert if cert is None else cert,
        }


def _merged_proxies(
    call: MutableMapping[str, str] | None, session: MutableMapping[str, str]
) -> MutableMapping[str, str]:
    """requests' ``merge_setting`` for proxies, without its cost when the session sets none.

    ``merge_setting`` tells mappings apart with a runtime protocol check that
    costs more than the rest of the merge on Python 3.11; with no session
    proxies, the merge is the call's own proxies without the ``None`` values.
    """
    if session:
        return merge_setting(call, session)  # type: ignore[no-any-return, no-untyped-call]
    if call is None:
        return session
    return {scheme: proxy for scheme, proxy in call.items() if proxy is not None}
