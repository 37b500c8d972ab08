"""Storage: one ``JiraLink`` per incoming application link, one ``JiraConnection`` per user and link.

Secrets (the client secret, access and refresh tokens) live in
``EncryptedTextField`` columns; nothing here ever puts them in ``__str__``,
``repr`` or a validation message.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jira_connect import scopes, tenancy
from jira_connect.exceptions import LinkAccessDenied
from jira_connect.fields import EncryptedTextField, is_unreadable
from jira_connect.validators import normalize_base_url, validate_base_url, validate_ca_bundle

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from jira_connect.asession import AsyncJiraSession
    from jira_connect.session import JiraSession


class JiraLink(models.Model):
    """An incoming application link on one Jira Data Center server, for one tenant."""

    name = models.CharField(
        _("name"), max_length=100, help_text=_("Shown to users, e.g. “Acme Jira”.")
    )
    slug = models.SlugField(
        _("slug"), max_length=100, unique=True, help_text=_("Identifies the link in URLs.")
    )
    tenant = models.CharField(
        _("tenant"),
        max_length=100,
        blank=True,
        db_index=True,
        help_text=_("The tenant whose users may use this link. Blank: every tenant."),
    )
    base_url = models.CharField(
        _("Jira base URL"),
        max_length=500,
        validators=[validate_base_url],
        help_text=_(
            "Jira's address including any context path, e.g. https://jira.example.com/jira."
        ),
    )
    client_id = models.CharField(
        _("client ID"), max_length=255, help_text=_("From the incoming link in Jira.")
    )
    client_secret = EncryptedTextField(
        _("client secret"),
        blank=False,
        help_text=_("From the incoming link in Jira. Stored encrypted."),
    )
    scope = models.CharField(
        _("scope"),
        max_length=200,
        default=scopes.DEFAULT_SCOPE,
        validators=[scopes.validate_scope],
        help_text=_("The permission chosen on the incoming link in Jira, e.g. WRITE."),
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive links cannot be connected or used.")
    )
    verify_tls = models.BooleanField(
        _("verify TLS certificates"),
        default=True,
        help_text=_(
            "Turn off only for testing: without it, anyone on the network path can read the tokens."
        ),
    )
    ca_bundle = models.TextField(
        _("CA certificates"),
        blank=True,
        validators=[validate_ca_bundle],
        help_text=_(
            "PEM certificates of a private certificate authority that signed Jira's certificate."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("Jira link")
        verbose_name_plural = _("Jira links")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    #: The scope as loaded from the database (``from_db``) or last saved: what the
    #: connections were asked for, so ``save()`` sees a raised scope without a query.
    _saved_scope: str | None = None

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Normalise on every save, not only through forms: the Python API and
        # commands must store the same canonical values the admin stores.
        self.base_url = normalize_base_url(self.base_url)
        self.scope = scopes.normalize(self.scope)
        update_fields = kwargs.get("update_fields")
        old_scope = None
        if self.pk and (update_fields is None or "scope" in update_fields):
            old_scope = self._saved_scope
            if old_scope is None:
                # Built with a primary key rather than loaded (or loaded without its
                # scope): only the database knows what was asked for before.
                old_scope = (
                    JiraLink.objects.filter(pk=self.pk).values_list("scope", flat=True).first()
                )
        super().save(*args, **kwargs)
        if update_fields is None or "scope" in update_fields:
            self._saved_scope = self.scope
        if old_scope and old_scope != self.scope and not scopes.covers(old_scope, self.scope):
            self._ask_for_wider_grants()

    @classmethod
    def from_db(cls, *args: Any, **kwargs: Any) -> Any:
        # Django's hook for "loaded from the database"; its arguments vary across versions.
        link = super().from_db(*args, **kwargs)
        if "scope" in link.__dict__:  # not deferred
            link._saved_scope = link.scope
        return link

    def _ask_for_wider_grants(self) -> None:
        """The link now asks for more than some connections were granted: they must reconnect.

        Lowering the scope changes nothing: a wider grant still covers it.
        """
        granted_values = (
            self.connections.filter(status=ConnectionStatus.ACTIVE)
            .values_list("scope", flat=True)
            .distinct()
        )
        short = [
            value for value in granted_values if not value or not scopes.covers(value, self.scope)
        ]
        if short:
            self.connections.filter(status=ConnectionStatus.ACTIVE, scope__in=short).update(
                status=ConnectionStatus.REAUTH_REQUIRED,
                last_error=f"The link now asks for {self.scope}; reconnect to grant it.",
                last_error_at=timezone.now(),
            )

    def clean(self) -> None:
        super().clean()
        if self.base_url:
            self.base_url = normalize_base_url(self.base_url)
        if self.scope:
            # An invalid scope is reported by the field's validator.
            with contextlib.suppress(ValidationError):
                self.scope = scopes.normalize(self.scope)


class ConnectionStatus(models.TextChoices):
    """Where a connection stands; ``JiraConnection.Status`` is the usual spelling."""

    ACTIVE = "active", _("Connected")
    REAUTH_REQUIRED = "reauth_required", _("Must reconnect")
    REVOKED = "revoked", _("Revoked")


class FailureKind(models.TextChoices):
    """What kind of failure a connection's last error was; decides what is retried.

    Only ``transient`` failures are worth trying again by themselves; the other
    kinds need a person: staff for ``configuration`` and ``credentials``, the
    user for ``reauth``.
    """

    CONFIGURATION = "configuration", _("Configuration")
    CREDENTIALS = "credentials", _("Rejected client credentials")
    TRANSIENT = "transient", _("Transient")
    REAUTH = "reauth", _("Must reconnect")


# The kinds as plain module constants: ``from jira_connect import models as kinds`` reads
# ``kinds.TRANSIENT`` where the refresh code compares stored strings.
CONFIGURATION: str = FailureKind.CONFIGURATION
CREDENTIALS: str = FailureKind.CREDENTIALS
TRANSIENT: str = FailureKind.TRANSIENT
REAUTH: str = FailureKind.REAUTH


class JiraConnectionQuerySet(models.QuerySet["JiraConnection"]):
    def active(self) -> JiraConnectionQuerySet:
        return self.filter(status=ConnectionStatus.ACTIVE, link__is_active=True)

    def due_for_refresh(
        self, *, within: int, refreshed_before: datetime | None = None
    ) -> JiraConnectionQuerySet:
        """Active connections whose access token expires within ``within`` seconds, or
        (with ``refreshed_before``) whose tokens were last refreshed before then."""
        now = timezone.now()
        due = models.Q(expires_at__lte=now + timedelta(seconds=within))
        if refreshed_before is not None:
            due |= models.Q(last_refreshed_at__lt=refreshed_before)
            due |= models.Q(last_refreshed_at__isnull=True, created_at__lt=refreshed_before)
        return self.active().filter(refresh_token__isnull=False).filter(due)

    def for_user(
        self, user: AbstractBaseUser | AnonymousUser, link: JiraLink | str
    ) -> JiraConnection:
        """The user's connection on ``link`` (an instance or a slug).

        Applies what the Python API can check without a request: the link's
        active flag and ``LINK_ACCESS_POLICY``. Raises ``LinkAccessDenied``
        when either refuses, and ``JiraConnection.DoesNotExist`` when the user
        has not connected.
        """
        link_obj = JiraLink.objects.get(slug=link) if isinstance(link, str) else link
        if not tenancy.user_may_use(user, link_obj):
            raise LinkAccessDenied(f"This user may not use the Jira link {link_obj.slug!r}.")
        connection: JiraConnection = self.select_related("link").get(
            link=link_obj, user_id=tenancy.user_key(user)
        )
        return connection


JiraConnectionManager = models.Manager.from_queryset(JiraConnectionQuerySet)


class JiraConnection(models.Model):
    """One user's authorisation on one link: their tokens and who they are in Jira."""

    Status = ConnectionStatus
    FailureKind = FailureKind

    link = models.ForeignKey(
        JiraLink, on_delete=models.CASCADE, related_name="connections", verbose_name=_("Jira link")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="jira_connections",
        verbose_name=_("user"),
    )
    access_token = EncryptedTextField(_("access token"), blank=True, editable=False)
    refresh_token = EncryptedTextField(_("refresh token"), blank=True, editable=False)
    expires_at = models.DateTimeField(_("access token expires"), null=True, blank=True)
    scope = models.CharField(_("granted scope"), max_length=200, blank=True)
    redirect_uri = models.CharField(
        _("redirect URI"),
        max_length=500,
        blank=True,
        help_text=_("The Redirect URL the grant was made with; sent again on every refresh."),
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ConnectionStatus.choices,
        default=ConnectionStatus.ACTIVE,
        db_index=True,
    )
    jira_key = models.CharField(
        _("Jira user key"),
        max_length=255,
        blank=True,
        help_text=_("Jira's stable user id, e.g. JIRAUSER10000."),
    )
    jira_name = models.CharField(_("Jira username"), max_length=255, blank=True)
    jira_display_name = models.CharField(_("Jira display name"), max_length=255, blank=True)
    jira_email = models.EmailField(_("Jira email"), max_length=254, blank=True)
    last_refreshed_at = models.DateTimeField(_("last refreshed"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    last_failure_kind = models.CharField(
        _("kind of last failure"),
        max_length=20,
        choices=FailureKind.choices,
        blank=True,
        help_text=_("Blank when the last refresh succeeded."),
    )
    refresh_paused_until = models.DateTimeField(
        _("no refresh after a 401 until"),
        null=True,
        blank=True,
        help_text=_(
            "Set when Jira rejected a freshly refreshed token too (a rate limit answered "
            "anonymously): until then a 401 returns Jira's answer instead of refreshing again."
        ),
    )
    created_at = models.DateTimeField(_("connected"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = JiraConnectionManager()

    class Meta:
        verbose_name = _("Jira connection")
        verbose_name_plural = _("Jira connections")
        constraints = [
            models.UniqueConstraint(
                fields=["link", "user"], name="jira_connect_one_connection_per_user_and_link"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="jira_connect_due_for_refresh"),
        ]

    def __str__(self) -> str:
        identity = self.jira_display_name or self.jira_name or f"user #{self.user_id}"
        return f"{identity} on {self.link}"

    @property
    def needs_wider_grant(self) -> bool:
        """The link asks for more than this connection was granted (staff raised its scope)."""
        try:
            return bool(self.scope) and not scopes.covers(self.scope, self.link.scope)
        except ValidationError:
            return True

    @property
    def needs_staff(self) -> bool:
        """The connection cannot be used until staff fix its link: a missing encryption key,
        client credentials Jira refuses, or a host the site's settings no longer allow."""
        link = self.link
        if "client_secret" not in link.get_deferred_fields() and is_unreadable(link.client_secret):
            return True
        failed_last = self.last_error_at is not None and (
            self.last_refreshed_at is None or self.last_error_at > self.last_refreshed_at
        )
        return failed_last and self.last_failure_kind in (CONFIGURATION, CREDENTIALS)

    @property
    def reconnect_url(self) -> str:
        """Where the user connects again: the link's connect page."""
        return reverse("jira_connect:connect", args=[self.link.slug])

    def session(self) -> JiraSession:
        """A ``requests.Session`` for Jira's REST API on the user's behalf.

        Relative paths resolve against the link's base URL; the bearer token is
        attached and refreshed by itself; every call has ``HTTP_TIMEOUT``.
        Raises ``ReauthorizationRequired`` (from a call) when the user must
        connect again. Use one session per thread.
        """
        from jira_connect.session import JiraSession

        return JiraSession(self)

    async def asession(self) -> AsyncJiraSession:
        """An ``httpx.AsyncClient`` for Jira's REST API, for async code (``async def`` views).

        The same rules as ``session()``; the token call of a refresh runs on
        the event loop. Needs ``django-jira-connect[async]`` (httpx). Works on
        a connection from ``await JiraConnection.objects.aget(...)``: the link
        is loaded here if it is not yet. Close it with ``async with``.
        """
        from jira_connect.asession import open_session

        return await open_session(self)

    async def arefresh(self) -> None:
        """``refresh()`` for async code: the same single flight, without blocking the loop."""
        from jira_connect.arefreshing import arefresh_connection

        await arefresh_connection(self, force=True)

    async def averify(self) -> None:
        """``verify()`` for async code: the identity call on the event loop (httpx), the same
        refreshes, outcomes and signals."""
        from jira_connect.alifecycle import averify_connection

        await averify_connection(self)

    def refresh(self) -> None:
        """Refresh the tokens now (single flight: at most one refresh across workers)."""
        from jira_connect import refreshing

        refreshing.refresh_connection(self, force=True)

    def verify(self) -> None:
        """Check the connection with Jira (``/rest/api/2/myself``) and update the identity."""
        from jira_connect import lifecycle

        lifecycle.verify_connection(self)

    def disconnect(self) -> None:
        """Forget this connection and its tokens (sends the ``disconnected`` signal)."""
        from jira_connect import lifecycle

        lifecycle.disconnect(self)

    def is_expired(self, leeway: int = 0, now: datetime | None = None) -> bool:
        """Whether the access token is expired, or will be within ``leeway`` seconds."""
        if self.expires_at is None:
            return False
        now = now or timezone.now()
        return self.expires_at <= now + timedelta(seconds=leeway)


# --- what staff see on the health page and users see after staff acted ----------------------------


class RefreshDay(models.Model):
    """How one link's refreshes went on one day: counters the signal receivers increment.

    The health page reads these few rows (one per link and day) instead of
    scanning connections or events, so it costs the same whatever the number
    of connections.
    """

    link = models.ForeignKey(
        JiraLink, on_delete=models.CASCADE, related_name="refresh_days", verbose_name=_("Jira link")
    )
    day = models.DateField(_("day"))
    refreshed = models.PositiveIntegerField(_("refreshed"), default=0)
    failed = models.PositiveIntegerField(
        _("failed (kept, retried later)"),
        default=0,
        help_text=_("Refreshes that failed without losing the connection: Jira down, a timeout."),
    )
    reauth = models.PositiveIntegerField(
        _("must reconnect"),
        default=0,
        help_text=_("Refreshes Jira refused for good: the user must connect again."),
    )

    class Meta:
        verbose_name = _("day of refreshes")
        verbose_name_plural = _("days of refreshes")
        constraints = [
            models.UniqueConstraint(
                fields=["link", "day"], name="jira_connect_one_row_per_link_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.link} on {self.day}"


class LinkTestResult(models.Model):
    """The outcome of the last "Test this link" of a link, for the health page."""

    link = models.OneToOneField(
        JiraLink,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="last_test",
        verbose_name=_("Jira link"),
    )
    ok = models.BooleanField(_("works"))
    summary = models.TextField(_("summary"))
    tested_at = models.DateTimeField(_("tested at"))

    class Meta:
        verbose_name = _("last test of a link")
        verbose_name_plural = _("last tests of links")

    def __str__(self) -> str:
        return self.summary


class DisconnectNotice(models.Model):
    """Why a user's connection is gone when staff removed it; shown to them until they reconnect."""

    link = models.ForeignKey(
        JiraLink, on_delete=models.CASCADE, related_name="+", verbose_name=_("Jira link")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(_("disconnected at"), default=timezone.now)

    class Meta:
        verbose_name = _("disconnection by staff")
        verbose_name_plural = _("disconnections by staff")
        constraints = [
            models.UniqueConstraint(
                fields=["link", "user"], name="jira_connect_one_notice_per_user_and_link"
            )
        ]

    def __str__(self) -> str:
        return f"user #{self.user_id} on {self.link}"


class LinkHealth(JiraLink):
    """The links seen as the staff health page (an admin entry; no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = _("link health")
        verbose_name_plural = _("link health")
