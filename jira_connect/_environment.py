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
from collections.abc import Mapping
from urllib.parse import urlsplit
from urllib.request import getproxies

from requests.utils import should_bypass_proxies

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
