"""The refresh engine: one refresh per expiry, and a rotated pair that outlives the caller.

Jira retires a refresh token the moment it answers a refresh with a new pair
(jira-dc-oauth.md §4). From then on the new pair exists only in this
process's memory until it is committed, so the engine commits it before it
returns, whatever transaction the caller has open:

- A caller with no transaction open: the engine's own ``atomic()`` on the
  model's database commits the pair.
- A caller inside ``atomic()`` (``ATOMIC_REQUESTS``, a Celery task wrapped in
  a transaction, a savepoint): the engine locks, refreshes and commits on a
  database connection of its own, opened for the refresh and closed after
  it, so a later rollback by the caller cannot take the pair back and the
  row lock ends with the refresh.
- Where that connection cannot be used, the refresh joins the caller's
  transaction: the row exists only in the caller's uncommitted transaction
  (Django's ``TestCase``, pytest-django's ``django_db``), the caller's own
  transaction already holds the row's lock (waiting for it on another
  connection would deadlock), or the database is SQLite (one writer at a
  time: a second connection would wait for the caller's). The pair is then
  also kept in a small in-process journal until the caller commits; if the
  caller rolls back, the next refresh of the connection in this process
  puts the pair back before anything else.

Single flight: threads of one process queue on a lock of their connection's
own; processes queue on the row lock (``select_for_update``); whoever gets
it re-reads the row, and refreshes only if nobody did meanwhile. A ``Flight``
splits this in three phases (lock and decide, the token call, store and
commit) so that async callers (``jira_connect.arefreshing``) share it with
the token call on their event loop; ``Flight`` says how the locks relate.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, connections, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from jira_connect import models as kinds  # the failure kinds as plain strings
from jira_connect import oauth, signals
from jira_connect.conf import app_settings
from jira_connect.exceptions import (
    JiraConnectConfigurationError,
    JiraUnavailable,
    OAuthError,
    ReauthorizationRequired,
)
from jira_connect.fields import require_readable
from jira_connect.models import JiraConnection, JiraLink
from jira_connect.transport import ensure_allowed, session_hook, tls_verify

logger = logging.getLogger(__name__)

#: OAuth errors that say the client's own credentials were refused: staff must fix the link.
_CREDENTIAL_ERRORS = frozenset({"invalid_client", "unauthorized_client"})
#: OAuth errors that say Jira could not answer now: worth trying again later.
_TRANSIENT_ERRORS = frozenset({"server_error", "temporarily_unavailable"})


# --- single flight inside a process -----------------------------------------------------------


class _ConnectionLocks:
    """One re-entrant lock per connection, kept only while someone holds or waits for it.

    Unrelated connections never queue behind each other's HTTP call, and
    memory stays flat however many connections a long-running process
    refreshes. Re-entrant: a signal receiver may refresh the same connection.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held: dict[tuple[str, int], tuple[threading.RLock, list[int]]] = {}

    @contextmanager
    def hold(self, key: tuple[str, int]) -> Iterator[None]:
        with self._guard:
            lock, users = self._held.setdefault(key, (threading.RLock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if users[0] == 0:
                    del self._held[key]

    def __len__(self) -> int:
        return len(self._held)


_locks = _ConnectionLocks()


# --- the journal of pairs not yet durable ---------------------------------------------------


@dataclass(frozen=True)
class _UnsavedPair:
    """A pair Jira issued that only the caller's transaction holds, and the token it replaced."""

    retired_refresh_token: str
    access_token: str
    refresh_token: str
    expires_at: datetime | None
    scope: str
    refreshed_at: datetime

    def __repr__(self) -> str:
        return "<_UnsavedPair>"


class _Journal:
    """Pairs written inside a caller's transaction, until that transaction commits."""

    _LIMIT = 1024

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._pairs: OrderedDict[tuple[str, int], _UnsavedPair] = OrderedDict()

    def keep(self, key: tuple[str, int], pair: _UnsavedPair) -> None:
        with self._guard:
            self._pairs[key] = pair
            self._pairs.move_to_end(key)
            while len(self._pairs) > self._LIMIT:
                self._pairs.popitem(last=False)

    def settled(self, key: tuple[str, int], pair: _UnsavedPair) -> None:
        with self._guard:
            if self._pairs.get(key) is pair:
                del self._pairs[key]

    def lost(self, key: tuple[str, int], stored_refresh_token: str) -> _UnsavedPair | None:
        """The pair a rollback discarded, if the row still holds the token it replaced."""
        with self._guard:
            pair = self._pairs.get(key)
        if pair is None or not stored_refresh_token:
            return None
        if pair.retired_refresh_token != stored_refresh_token:
            return None
        return pair


_journal = _Journal()


# --- where the refresh runs -------------------------------------------------------------------

_private_names = itertools.count()


@contextmanager
def _private_connection(alias: str) -> Iterator[str]:
    """A new connection to ``alias``'s database for one refresh: its commits are its own."""
    caller = connections[alias]
    name = f"{alias}__jira_connect_{next(_private_names)}"
    private = caller.__class__(dict(caller.settings_dict), alias=name)
    connections[name] = private
    try:
        yield name
    finally:
        try:
            private.close()
        finally:
            del connections[name]


def _lock_row(alias: str, pk: int, *, nowait: bool = False) -> JiraConnection:
    """The connection's row, locked until the transaction on ``alias`` ends.

    Only the connection's row: ``select_related("link")`` with a plain
    ``FOR UPDATE`` would lock the link's row too, and every refresh on a link
    would queue behind the one before. Databases without ``FOR UPDATE OF``
    (MariaDB, MySQL) lock the row with a query of its own first.
    """
    features = connections[alias].features
    rows = JiraConnection.objects.using(alias).select_related("link")
    if features.has_select_for_update_of:
        row: JiraConnection = rows.select_for_update(of=("self",), nowait=nowait).get(pk=pk)
        return row
    if features.has_select_for_update:
        lock = JiraConnection.objects.using(alias).select_for_update(nowait=nowait)
        lock.filter(pk=pk).values_list("pk").get()
    row = rows.get(pk=pk)
    return row


@contextmanager
def _locked(alias: str, pk: int) -> Iterator[JiraConnection]:
    """Lock and re-read the row inside a transaction that commits when the block ends.

    See the module's docstring for which connection that transaction runs on.
    """
    caller = connections[alias]
    durable_here = not caller.in_atomic_block or caller.vendor == "sqlite"
    if durable_here or not caller.features.has_select_for_update_nowait:
        with transaction.atomic(using=alias):
            yield _lock_row(alias, pk)
        return
    with ExitStack() as stack:
        private = stack.enter_context(_private_connection(alias))
        row = _try_private(stack, private, alias, pk)
        yield row


def _try_private(stack: ExitStack, private: str, alias: str, pk: int) -> JiraConnection:
    """Lock the row on ``private`` if that is safe; otherwise in the caller's transaction."""
    attempt = transaction.atomic(using=private)
    attempt.__enter__()
    try:
        row = _lock_row(private, pk, nowait=True)
    except JiraConnection.DoesNotExist:
        attempt.__exit__(None, None, None)
        # Only the caller's transaction can see the row (it made it and has not committed).
        return _in_callers_transaction(stack, alias, pk)
    except DatabaseError as err:
        attempt.__exit__(type(err), err, err.__traceback__)
        if _caller_holds_lock(alias, pk):
            return _in_callers_transaction(stack, alias, pk)
        # Another worker holds it for the length of one refresh: wait for it, on our own.
        stack.enter_context(transaction.atomic(using=private))
        return _lock_row(private, pk)
    except BaseException as err:
        attempt.__exit__(type(err), err, err.__traceback__)
        raise
    stack.push(attempt.__exit__)
    return row


def _caller_holds_lock(alias: str, pk: int) -> bool:
    """Whether the caller's own transaction holds the row's lock (asking Jira's row on
    another connection would then wait for ever), told by locking it again without waiting."""
    try:
        with transaction.atomic(using=alias):
            JiraConnection.objects.using(alias).select_for_update(nowait=True).filter(
                pk=pk
            ).values_list("pk").get()
    except DatabaseError:
        return False
    return True


def _in_callers_transaction(stack: ExitStack, alias: str, pk: int) -> JiraConnection:
    stack.enter_context(transaction.atomic(using=alias))
    return _lock_row(alias, pk)


def write_now(alias: str, pk: int, write: Callable[[str], object]) -> None:
    """Run a small write to the connection's row so that it commits now, on ``alias``'s database.

    For bookkeeping that must not wait for (or be rolled back with) the
    caller's transaction, nor hold the row's lock until it ends: the storm
    guard's pause. Inside a caller's transaction it runs on a connection of
    its own, unless the row is locked (then it joins the caller's, as the
    refresh does) or only the caller's transaction can see the row.
    """
    caller = connections[alias]
    # Without NOWAIT (SQLite, whose one writer would wait for the caller's transaction for
    # ever) the write joins the caller's transaction.
    if not caller.in_atomic_block or not caller.features.has_select_for_update_nowait:
        write(alias)
        return
    with _private_connection(alias) as private:
        try:
            with transaction.atomic(using=private):
                rows = JiraConnection.objects.using(private).select_for_update(nowait=True)
                if rows.filter(pk=pk).values_list("pk").first() is not None:
                    write(private)
                    return
        except DatabaseError:
            pass  # locked: by the caller's own transaction, or by a refresh under way
    write(alias)


# --- the flight -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenCall:
    """The one call to Jira's token endpoint a flight decided to make (phase b)."""

    client: oauth.OAuthClient
    refresh_token: str = field(repr=False)
    #: Whose client it is: the async path asks the site's ``ASYNC_CLIENT_OPTIONS`` for it.
    link: JiraLink | None = field(default=None, repr=False, compare=False)


#: What the token call may raise that the flight turns into an outcome (stored, then raised).
TOKEN_CALL_ERRORS = (JiraConnectConfigurationError, OAuthError, JiraUnavailable)


class Flight:
    """One refresh decision and its outcome, in three phases.

    (a) ``open()``: take the in-process lock, lock and re-read the row
    (``_locked``), decide; returns the token call to make, or None.
    (b) the token call, made by the caller: ``oauth.refresh`` in this thread
    (the sync path) or httpx on the event loop (``jira_connect.arefreshing``).
    (c) ``finish(result)``: store the tokens or the failure, end the
    transaction (commit, signals), release the locks, raise the outcome.

    Phases (a) and (c) must run in the same thread: Django's database
    connections, the transaction holding the row lock and the re-entrant
    in-process lock all belong to the thread that opened them. ``abort(err)``
    ends the flight without storing anything (the transaction rolls back).

    How the locks relate: the row lock (``select_for_update``) is the one
    guarantee, across threads, processes, machines, sync and async callers.
    The in-process locks only make callers of one process queue in memory
    instead of on the database: threads on ``_locks`` (re-entrant, per
    connection), coroutines of one event loop on an ``asyncio.Lock`` first
    (``arefreshing``), whose single flight thread then takes ``_locks`` like
    any thread. Every path takes them in the same order (asyncio lock, thread
    lock, row lock) and releases them in reverse, so they cannot deadlock.
    """

    def __init__(
        self,
        connection: JiraConnection,
        needs_refresh: Callable[[JiraConnection], bool],
        *,
        hold_for: float | None = None,
    ) -> None:
        self.connection = connection
        self._hold_for = hold_for
        self.alias = router.db_for_write(JiraConnection, instance=connection)
        self.key = (self.alias, connection.pk)
        self._needs_refresh = needs_refresh
        self._stack = ExitStack()
        self._outcome: Exception | None = None
        self._refreshed = False
        self._durable = False
        self._now = timezone.now()
        self._current: JiraConnection | None = None

    def open(self) -> TokenCall | None:
        """Phase (a): lock, re-read and decide. None: no token call (decided already)."""
        try:
            return self._open()
        except BaseException as err:
            self.abort(err)
            raise

    def _open(self) -> TokenCall | None:
        self._stack.enter_context(_locks.hold(self.key))
        callers_transaction = connections[self.alias].in_atomic_block
        current = self._stack.enter_context(_locked(self.alias, self.connection.pk))
        self._current = current
        # Final at the end of the block: on a connection of our own, or with no caller's
        # transaction around the engine's.
        self._durable = current._state.db != self.alias or not callers_transaction
        _restore_lost_pair(current, self.key)
        if current.status != JiraConnection.Status.ACTIVE:
            self._outcome = _reauthorization_required(
                current, _("This Jira connection must be reconnected.")
            )
            return None
        if not self._needs_refresh(current):
            return None
        self._now = timezone.now()
        prepared = _prepare(current, self._now)
        if isinstance(prepared, Exception):
            self._outcome = prepared
            return None
        return prepared

    def finish(self, result: oauth.TokenSet | Exception | None = None) -> bool:
        """Phase (c): store ``result`` (the token call's tokens or error), commit, raise.

        Raises once the transaction has ended, so a status change is stored
        before the caller hears about it. Returns whether it refreshed.
        """
        current = self._current
        if current is None:
            raise RuntimeError("Flight.finish() needs a flight that open() decided.")
        try:
            if result is not None:
                hold_until = (
                    None
                    if self._hold_for is None
                    else self._now + timedelta(seconds=self._hold_for)
                )
                self._outcome = _settle(
                    current,
                    self.key,
                    result,
                    now=self._now,
                    durable=self._durable,
                    hold_until=hold_until,
                )
                self._refreshed = self._outcome is None
        except BaseException as err:
            self.abort(err)
            raise
        self._stack.close()  # commit (signals on commit), then release the locks
        current._state.db = current.link._state.db = self.alias  # the private connection is gone
        _copy_tokens(current, self.connection)
        if self._outcome is not None:
            raise self._outcome
        return self._refreshed

    def abort(self, err: BaseException) -> None:
        """End the flight on ``err``: the transaction rolls back, the locks are released."""
        stack, self._stack = self._stack, ExitStack()
        try:
            stack.__exit__(type(err), err, err.__traceback__)
        except BaseException as raised:
            if raised is not err:
                raise


def _single_flight(
    connection: JiraConnection,
    needs_refresh: Callable[[JiraConnection], bool],
    *,
    hold_for: float | None = None,
) -> bool:
    """Refresh ``connection`` if ``needs_refresh`` says so once its row is locked and re-read:
    the three phases of a ``Flight`` in this thread. Returns whether it refreshed."""
    flight = Flight(connection, needs_refresh, hold_for=hold_for)
    call = flight.open()
    result: oauth.TokenSet | Exception | None = None
    if call is not None:
        try:
            result = oauth.refresh(call.client, call.refresh_token)
        except TOKEN_CALL_ERRORS as err:
            result = err
        except BaseException as err:
            flight.abort(err)
            raise
    return flight.finish(result)


def _restore_lost_pair(current: JiraConnection, key: tuple[str, int]) -> None:
    pair = _journal.lost(key, current.refresh_token)
    if pair is None:
        return
    current.access_token = pair.access_token
    current.refresh_token = pair.refresh_token
    current.expires_at = pair.expires_at
    current.scope = pair.scope
    current.last_refreshed_at = pair.refreshed_at
    using = current._state.db
    current.save(
        using=using,
        update_fields=["access_token", "refresh_token", "expires_at", "scope", "last_refreshed_at"],
    )
    # Kept until the restore commits: a rollback of this transaction too must not lose it.
    transaction.on_commit(lambda: _journal.settled(key, pair), using=using)
    logger.warning(
        "Put back the Jira tokens of connection %s that a rolled-back transaction had discarded",
        current.pk,
    )


def oauth_client(link: JiraLink, redirect_uri: str = "") -> oauth.OAuthClient:
    """The protocol's view of a link, with the site's transport settings.

    The one place a link's base URL is checked (``ensure_allowed``: the site's
    rules as they are now) before a token or identity call. ``redirect_uri``:
    for the calls that send one (authorise, exchange, refresh).
    """
    ensure_allowed(link)
    require_readable(link.client_secret)
    return oauth.OAuthClient(
        base_url=link.base_url,
        client_id=link.client_id,
        client_secret=link.client_secret,
        redirect_uri=redirect_uri,
        scope=link.scope,
        verify=tls_verify(link),
        timeout=app_settings.HTTP_TIMEOUT,
        configure_session=session_hook(link),
    )


def refresh_redirect_uri(connection: JiraConnection) -> str:
    # The exact Redirect URL the grant was made with, which Jira may check again.
    return connection.redirect_uri or app_settings.CALLBACK_URL


def _cooling_down(current: JiraConnection, now: datetime) -> Exception | None:
    """The stored failure to answer with instead of asking Jira again, if it is too soon."""
    if current.last_error_at is None or (
        current.last_refreshed_at is not None and current.last_error_at <= current.last_refreshed_at
    ):
        return None
    kind = current.last_failure_kind
    if kind == kinds.CREDENTIALS and current.link.updated_at <= current.last_error_at:
        # The same client credentials will be refused again: wait until staff change the link.
        return OAuthError(
            "invalid_client",
            _("Jira refused the link's client credentials (%(error)s); fix the link in the admin.")
            % {"error": current.last_error},
        )
    retry_after = app_settings.REFRESH_RETRY_AFTER
    if (
        kind in (kinds.TRANSIENT, "")
        and retry_after
        and now - current.last_error_at < timedelta(seconds=retry_after)
    ):
        return JiraUnavailable(
            _("Jira failed moments ago (%(error)s); trying again after %(seconds)s seconds.")
            % {"error": current.last_error, "seconds": retry_after}
        )
    return None


@sensitive_variables()
def _prepare(current: JiraConnection, now: datetime) -> TokenCall | Exception:
    """Under the row lock: the token call to make, or the outcome to raise without one."""
    try:
        require_readable(current.refresh_token, current.access_token, current.link.client_secret)
    except JiraConnectConfigurationError as err:
        _record_failure(current, str(err), now, kind=kinds.CONFIGURATION, error=err)
        return err
    if not current.refresh_token:
        return _mark_reauth(current, "no refresh token", now)
    waiting = _cooling_down(current, now)
    if waiting is not None:
        return waiting
    try:
        client = oauth_client(current.link, refresh_redirect_uri(current))
    except JiraConnectConfigurationError as err:
        _record_failure(current, str(err), now, kind=kinds.CONFIGURATION, error=err)
        return err
    return TokenCall(client, current.refresh_token, current.link)


@sensitive_variables()
def _settle(
    current: JiraConnection,
    key: tuple[str, int],
    result: oauth.TokenSet | Exception,
    *,
    now: datetime,
    durable: bool,
    hold_until: datetime | None = None,
) -> Exception | None:
    """Under the row lock: store what the token call gave; return the exception to raise once
    the transaction ends.

    ``hold_until``: the refresh answers a rejected call, whose retry decides whether the
    storm guard trips (``stormguard``); 401-driven refreshes are held until then, in the same
    write as the new pair, so no worker can pick up the new token before the hold.
    """
    if isinstance(result, JiraConnectConfigurationError):
        _record_failure(current, str(result), now, kind=kinds.CONFIGURATION, error=result)
        return result
    if isinstance(result, OAuthError):
        if result.error == "invalid_grant":
            return _mark_reauth(current, str(result), now, cause=result)
        _record_failure(current, str(result), now, kind=_kind_of(result), error=result)
        return result
    if isinstance(result, Exception):  # JiraUnavailable
        _record_failure(current, str(result), now, kind=kinds.TRANSIENT, error=result)
        return result
    tokens = result
    retired = current.refresh_token
    current.access_token = tokens.access_token
    if tokens.refresh_token:  # never replace a stored refresh token by nothing
        current.refresh_token = tokens.refresh_token
    current.expires_at = tokens.expires_at
    if tokens.scope:
        current.scope = tokens.scope
    current.last_refreshed_at = now
    current.last_error = ""
    current.last_error_at = None
    current.last_failure_kind = ""
    fields = [
        "access_token",
        "refresh_token",
        "expires_at",
        "scope",
        "last_refreshed_at",
        "last_error",
        "last_error_at",
        "last_failure_kind",
        "updated_at",
    ]
    paused_until = current.refresh_paused_until
    if hold_until is not None and (paused_until is None or paused_until < hold_until):
        current.refresh_paused_until = hold_until
        fields.append("refresh_paused_until")
    current.save(using=current._state.db, update_fields=fields)
    used = current._state.db
    if not durable and used is not None:
        pair = _UnsavedPair(
            retired_refresh_token=retired,
            access_token=current.access_token,
            refresh_token=current.refresh_token,
            expires_at=current.expires_at,
            scope=current.scope,
            refreshed_at=now,
        )
        _journal.keep(key, pair)
        transaction.on_commit(lambda: _journal.settled(key, pair), using=used)
    refreshed = current
    _on_commit(
        current, lambda: signals.token_refreshed.send(sender=JiraConnection, connection=refreshed)
    )
    logger.info("Refreshed the Jira tokens of connection %s", current.pk)
    return None


def _kind_of(err: OAuthError) -> str:
    if err.error in _CREDENTIAL_ERRORS:
        return kinds.CREDENTIALS
    if err.error in _TRANSIENT_ERRORS:
        return kinds.TRANSIENT
    return kinds.CONFIGURATION


def failure_kind(err: Exception) -> str:
    """What kind of failure a refresh raised: decides whether trying again can help."""
    if isinstance(err, ReauthorizationRequired):
        return kinds.REAUTH
    if isinstance(err, JiraConnectConfigurationError):
        return kinds.CONFIGURATION
    if isinstance(err, OAuthError):
        return _kind_of(err)
    return kinds.TRANSIENT


def _mark_reauth(
    current: JiraConnection, reason: str, now: datetime, cause: Exception | None = None
) -> Exception:
    current.status = JiraConnection.Status.REAUTH_REQUIRED
    raised = _reauthorization_required(
        current, _("Jira no longer accepts this connection: please reconnect.")
    )
    # The signal carries what went wrong: Jira's OAuth error, or what will be raised.
    _record_failure(current, reason, now, kind=kinds.REAUTH, error=cause or raised)
    return raised


def _record_failure(
    current: JiraConnection, reason: str, now: datetime, *, kind: str, error: Exception | None
) -> None:
    current.last_error = reason[:1000]
    current.last_error_at = now
    current.last_failure_kind = kind
    current.save(
        using=current._state.db,
        update_fields=["status", "last_error", "last_error_at", "last_failure_kind", "updated_at"],
    )
    failed = current
    reauth = kind == kinds.REAUTH
    _on_commit(
        current,
        lambda: signals.token_refresh_failed.send(
            sender=JiraConnection, connection=failed, error=error, reauth_required=reauth
        ),
    )
    logger.warning(
        "Refreshing the Jira tokens of connection %s failed (%s): %s", current.pk, kind, reason
    )


def _on_commit(current: JiraConnection, send: Callable[[], Any]) -> None:
    transaction.on_commit(send, using=current._state.db)


def _reauthorization_required(current: JiraConnection, message: str) -> ReauthorizationRequired:
    return ReauthorizationRequired(message, reconnect_url=current.reconnect_url, connection=current)


def _copy_tokens(source: JiraConnection, target: JiraConnection) -> None:
    for name in (
        "access_token",
        "refresh_token",
        "expires_at",
        "scope",
        "status",
        "last_refreshed_at",
        "last_error",
        "last_error_at",
        "last_failure_kind",
    ):
        setattr(target, name, getattr(source, name))


# --- the public entry points --------------------------------------------------------------------


@sensitive_variables()
def refresh_connection(
    connection: JiraConnection,
    *,
    stale_access_token: str | None = None,
    force: bool = False,
    hold_for: float | None = None,
) -> JiraConnection:
    """Make sure ``connection`` holds a usable access token, refreshing it at most once.

    ``stale_access_token`` is the token the caller holds and found wanting
    (about to expire, or answered 401): if the stored token already differs,
    another thread or process refreshed meanwhile and its token is used, with
    no request to Jira. ``force`` refreshes even a token that is not expiring
    (``connection.refresh()``). Returns the connection with the current
    tokens loaded; raises ``ReauthorizationRequired`` when Jira rejected the
    grant, ``JiraUnavailable`` when Jira could not be asked, ``OAuthError``
    when Jira refused the link's client credentials and
    ``JiraConnectConfigurationError`` when the site's settings forbid the call.

    ``hold_for``: Jira rejected ``stale_access_token`` (a 401) and the caller retries within
    this many seconds. Under the row lock, no refresh is made while 401-driven refreshes are
    paused (``stormguard``), and a refresh made is stored with a hold of such refreshes for
    that long: the storm guard's decisions, taken where no other worker can interleave.
    """
    needs = wanting(
        stale_access_token=stale_access_token, force=force, rejected=hold_for is not None
    )
    _single_flight(connection, needs, hold_for=hold_for)
    return connection


def wanting(
    *, stale_access_token: str | None = None, force: bool = False, rejected: bool = False
) -> Callable[[JiraConnection], bool]:
    """Whether the re-read row needs a refresh, for a caller holding ``stale_access_token``
    (``rejected``: Jira answered it with a 401; see ``refresh_connection``): the same decision
    for the sync and the async paths."""
    leeway = app_settings.REFRESH_LEEWAY

    def needs_refresh(current: JiraConnection) -> bool:
        if force or not current.access_token:
            return True
        if stale_access_token is not None and current.access_token == stale_access_token:
            paused = current.refresh_paused_until
            if rejected and paused is not None and paused > timezone.now():
                return current.is_expired(leeway=leeway)  # the storm guard holds 401 refreshes
            return True  # the caller's token is wanting, and nobody replaced it yet
        return current.is_expired(leeway=leeway)

    return needs_refresh


def refresh_if_due(
    connection: JiraConnection, *, within: int, refreshed_before: datetime | None = None
) -> bool:
    """Refresh when the token expires within ``within`` seconds, or was last refreshed
    before ``refreshed_before`` (so an idle user's refresh token does not run out).

    Decided again under the row lock, so many workers running this at once
    refresh each connection once. Returns whether this call refreshed.
    """
    return _single_flight(connection, due(within=within, refreshed_before=refreshed_before))


def due(*, within: int, refreshed_before: datetime | None) -> Callable[[JiraConnection], bool]:
    """Whether the re-read row is due for a proactive refresh (see ``refresh_if_due``): the
    same decision for the sync and the async bulk refresh."""

    def is_due(current: JiraConnection) -> bool:
        if current.is_expired(leeway=within) or not current.access_token:
            return True
        last = current.last_refreshed_at or current.created_at
        return refreshed_before is not None and last < refreshed_before

    return is_due
