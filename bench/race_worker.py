"""One process of a race: THREADS threads call Jira through one stored connection.

Run by ``bench.race`` as ``python -m bench.race_worker CONTENDER PK THREADS`` with
DJANGO_SETTINGS_MODULE and DATABASE_URL set. Each thread reads the connection from the
database and builds its own session from the stored token, as a web worker does, then waits:
the process prints ``ready``, and every thread calls ``rest/api/2/myself`` once the parent writes
a line to stdin (the same instant for every process). Prints one JSON list: each call's outcome,
the HTTP status or the exception's class name.

Contenders: ``jira_connect`` (``connection.session()``), ``requests-oauthlib``
(``OAuth2Session`` with ``auto_refresh_url`` and a ``token_updater`` that saves the new pair to
the row) and ``authlib`` (Authlib's ``OAuth2Session`` with ``token_endpoint`` and an
``update_token`` that does the same).
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime, timezone
from typing import Any

import requests

from bench.gate import wait_for_go

CALL_TIMEOUT = 30


def build_session(contender: str, pk: int) -> tuple[requests.Session, str]:
    """A session for the stored connection ``pk`` and the URL to call with it."""
    from django.utils import timezone as django_timezone

    from jira_connect import oauth
    from jira_connect.models import JiraConnection

    connection = JiraConnection.objects.select_related("link").get(pk=pk)
    if contender == "jira_connect":
        return connection.session(), "rest/api/2/myself"
    link = connection.link
    myself = link.base_url + "/rest/api/2/myself"
    assert connection.expires_at is not None
    token = {
        "access_token": connection.access_token,
        "refresh_token": connection.refresh_token,
        "token_type": "Bearer",
        "expires_at": connection.expires_at.timestamp(),
    }

    def save(new: dict[str, Any]) -> None:
        # What a host site writes for these libraries: store what it is handed.
        JiraConnection.objects.filter(pk=pk).update(
            access_token=new["access_token"],
            refresh_token=new.get("refresh_token", ""),
            expires_at=datetime.fromtimestamp(new["expires_at"], tz=timezone.utc),
            last_refreshed_at=django_timezone.now(),
        )

    if contender == "requests-oauthlib":
        from requests_oauthlib import OAuth2Session

        return OAuth2Session(
            link.client_id,
            token=token,
            auto_refresh_url=link.base_url + oauth.TOKEN_PATH,
            auto_refresh_kwargs={
                "client_id": link.client_id,
                "client_secret": link.client_secret,
                "redirect_uri": connection.redirect_uri,
            },
            token_updater=save,
        ), myself
    if contender == "authlib":
        from authlib.integrations.requests_client import (  # type: ignore[import-untyped]
            OAuth2Session as AuthlibSession,
        )

        def update_token(new: dict[str, Any], **_: Any) -> None:
            save(new)

        session: requests.Session = AuthlibSession(
            link.client_id,
            link.client_secret,
            token=token,
            token_endpoint=link.base_url + oauth.TOKEN_PATH,
            token_endpoint_auth_method="client_secret_post",  # noqa: S106 (not a secret)
            update_token=update_token,
        )
        return session, myself
    raise ValueError(f"unknown contender {contender!r}")


def main() -> None:
    import django

    django.setup()
    from django.db import connection as db

    contender, pk, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    outcomes: list[str] = []
    lock = threading.Lock()
    ready = threading.Barrier(threads + 1)
    go = threading.Event()

    def call() -> None:
        session: requests.Session | None = None
        try:
            try:
                session, url = build_session(contender, pk)
            except Exception:
                ready.abort()  # a broken setup, not a contender's failure: stop the race
                raise
            ready.wait()
            go.wait()
            outcome = str(session.get(url, timeout=CALL_TIMEOUT).status_code)
        except threading.BrokenBarrierError:
            outcome = "never started"
        except Exception as err:
            outcome = type(err).__name__
        finally:
            if session is not None:
                session.close()
            db.close()
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=call) for _ in range(threads)]
    wait_for_go(workers, ready, go)
    for worker in workers:
        worker.join()
    print(json.dumps(outcomes), flush=True)


if __name__ == "__main__":
    main()
