"""Forms for staff: the link form of the admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from jira_connect import scopes, secret_hold
from jira_connect.models import ConnectionStatus, JiraLink


def scope_label(name: str) -> SafeString:
    scope = scopes.SCOPES[name]
    included = sorted(scopes.implied_by(name) - {name}, key=list(scopes.SCOPES).index)
    extra = ""
    if included:
        extra = str(_("includes %(scopes)s") % {"scopes": ", ".join(included)})
    if scope.since:
        since = str(_("Jira %(version)s and later") % {"version": scope.since})
        extra = f"{extra}; {since}" if extra else since
    if extra:
        return format_html("<strong>{}</strong>: {} <em>({})</em>", name, scope.meaning, extra)
    return format_html("<strong>{}</strong>: {}", name, scope.meaning)


class ScopeRadioSelect(forms.RadioSelect):
    """One choice, as on Jira's incoming link; a crafted post with several is folded, not refused."""

    allow_multiple_selected = True
    #: A fieldset whose legend names the group and which points at the field's help text.
    template_name = "jira_connect/widgets/scope.html"
    #: The widget is its own fieldset, with its help inside, on every Django: the admin's
    #: fieldset (Django 6) and help text point ``aria-describedby`` at an id the admin never
    #: renders for a radio group.
    use_fieldset = False
    legend: Any = ""
    description: Any = ""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context(name, value, attrs)
        context["widget"]["legend"] = self.legend
        context["widget"]["description"] = self.description
        return context


class ScopeField(forms.MultipleChoiceField):
    """Jira's scope as one choice with its meaning; cleans to the smallest scope string.

    Jira's scopes are a hierarchy (WRITE includes READ), so a link needs one;
    several values (from the API or a crafted post) are folded: READ and
    WRITE are stored as WRITE.
    """

    widget = ScopeRadioSelect

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("choices", [(name, scope_label(name)) for name in scopes.SCOPES])
        super().__init__(**kwargs)
        self.widget.legend = self.label or _("Scope")
        # Shown by the widget, inside its fieldset (see ScopeRadioSelect.use_fieldset).
        self.widget.description, self.help_text = self.help_text, ""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                names = scopes.parse(value)
            except ValidationError:
                return []
            if len(names) > 1:  # e.g. "ADMIN READ_ALL", set through the API: one choice of its own
                combined = " ".join(names)
                choices: list[tuple[Any, Any]] = list(self.choices)  # type: ignore[arg-type]
                if combined not in dict(choices):
                    self.choices = [*choices, (combined, combined)]
                return [combined]
            return names
        return value

    def valid_value(self, value: Any) -> bool:
        return super().valid_value(value) or all(
            super(ScopeField, self).valid_value(part) for part in str(value).split()
        )

    def clean(self, value: Any) -> str:
        names = super().clean(value)
        return scopes.normalize(" ".join(names))


class JiraLinkForm(forms.ModelForm):  # type: ignore[type-arg]
    """Edits a link; the client secret is write-only.

    The secret is never rendered back, not even as masked characters: on
    change, leaving the field blank keeps the stored one.
    """

    client_secret = forms.CharField(
        label=_("Client secret"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(
            render_value=False,
            # vTextField: as wide as the admin's other text fields.
            attrs={"autocomplete": "new-password", "class": "vTextField"},
        ),
    )
    scope = ScopeField(
        label=_("Scope"),
        help_text=_(
            "The one permission chosen on the incoming link in Jira. Each includes the ones listed "
            "above it in its group (WRITE includes READ, ADMIN includes WRITE, SYSTEM_ADMIN "
            "includes ADMIN; MANAGE_SUBSCRIPTIONS includes READ_ALL), so READ and WRITE together "
            "are stored as WRITE."
        ),
    )

    class Meta:
        model = JiraLink
        fields = (
            "name",
            "slug",
            "tenant",
            "base_url",
            "client_id",
            "client_secret",
            "scope",
            "is_active",
            "verify_tls",
            "ca_bundle",
        )

    #: Set by the admin (a subclass per request): where a pasted secret is held across a
    #: failed submit (``jira_connect.secret_hold``). ``None``: nothing is held.
    session: SessionBase | None = None

    secret_hold = forms.CharField(required=False, widget=forms.HiddenInput)
    #: The raised scope staff confirmed after being told how many users must reconnect.
    confirm_scope = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stored_secret = self.instance.client_secret if self.instance.pk else ""
        self._held_secret = ""  # nothing held yet, not a password  # nosec B105
        if self.is_bound and self.session is not None:
            self._held_secret = secret_hold.take(
                self.session, str(self.data.get(self.add_prefix("secret_hold")) or "")
            )
        # Never hand the stored secret to the widget, whatever the instance holds.
        self.initial.pop("client_secret", None)
        field = self.fields["client_secret"]
        if self.instance.pk and self._stored_secret:
            field.help_text = _(
                "A secret is stored. Leave blank to keep it; type a new one to replace it."
            )
        else:
            field.required = not self._held_secret
            field.help_text = _(
                "From the incoming link in Jira. Stored encrypted, never shown again."
            )
        if self._held_secret:
            self._say_the_secret_is_held()

    def clean_client_secret(self) -> str:
        value: str = self.cleaned_data.get("client_secret") or ""
        return value or self._held_secret or self._stored_secret

    def full_clean(self) -> None:
        """On errors, hold a newly pasted secret so the staff member need not paste it again."""
        super().full_clean()
        if self.session is None or not self.is_bound:
            return
        token_name = self.add_prefix("secret_hold")
        token = str(self.data.get(token_name) or "")
        if not self.errors:
            secret_hold.drop(self.session, token)
            return
        typed = str(self.data.get(self.add_prefix("client_secret")) or "").strip()
        secret = typed or self._held_secret
        if not secret:
            return
        token = secret_hold.hold(self.session, secret, token)
        data = self.data.copy()  # type: ignore[attr-defined]
        data[token_name] = token
        self.data = data  # the page carries the token, never the secret
        self._held_secret = secret
        self._say_the_secret_is_held()

    def _say_the_secret_is_held(self) -> None:
        field = self.fields["client_secret"]
        field.required = False
        field.help_text = _(
            "The secret you pasted is kept (not shown). Leave blank to keep it; type a new one "
            "to replace it."
        )
        self["client_secret"].help_text = field.help_text  # a bound field copies it when made

    def clean_client_id(self) -> str:
        return str(self.cleaned_data.get("client_id") or "").strip()

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        scope = cleaned.get("scope")
        if scope and self.instance.pk:
            self._confirm_scope_raise(scope)
        return cleaned

    def _confirm_scope_raise(self, scope: str) -> None:
        """Raising the scope makes connected users reconnect: say how many before saving."""
        old = JiraLink.objects.filter(pk=self.instance.pk).values_list("scope", flat=True).first()
        if not old or scopes.covers(old, scope):
            return
        affected = self.instance.connections.filter(
            status=ConnectionStatus.ACTIVE,
            scope__in=[
                granted
                for granted in self.instance.connections.filter(status=ConnectionStatus.ACTIVE)
                .values_list("scope", flat=True)
                .distinct()
                if not granted or not _covers(granted, scope)
            ],
        ).count()
        if not affected or self.data.get(self.add_prefix("confirm_scope")) == scope:
            return
        data = self.data.copy()  # type: ignore[attr-defined]
        data[self.add_prefix("confirm_scope")] = scope
        self.data = data
        self.add_error(
            "scope",
            ValidationError(
                ngettext(
                    "Raising the scope to %(scope)s asks %(count)d connected user to reconnect "
                    "(Jira granted them less). Save again to confirm.",
                    "Raising the scope to %(scope)s asks %(count)d connected users to reconnect "
                    "(Jira granted them less). Save again to confirm.",
                    affected,
                ),
                code="scope_widened",
                params={"scope": scope, "count": affected},
            ),
        )

    def clean_ca_bundle(self) -> str:
        value = str(self.cleaned_data.get("ca_bundle") or "").strip()
        return value + "\n" if value else ""


def _covers(granted: str, required: str) -> bool:
    try:
        return scopes.covers(granted, required)
    except ValidationError:
        return False
