"""Forms for staff: the link form of the admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from jira_connect import scopes
from jira_connect.models import JiraLink


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


class ScopeField(forms.MultipleChoiceField):
    """Jira's scopes as checkboxes with their meaning; cleans to the smallest scope string."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("choices", [(name, scope_label(name)) for name in scopes.SCOPES])
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return scopes.parse(value)
            except ValidationError:
                return []
        return value

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
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    scope = ScopeField(
        label=_("Scope"),
        help_text=_(
            "The permission chosen on the incoming link in Jira. A scope includes the ones below it: "
            "WRITE includes READ, ADMIN includes WRITE, SYSTEM_ADMIN includes ADMIN."
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stored_secret = self.instance.client_secret if self.instance.pk else ""
        # Never hand the stored secret to the widget, whatever the instance holds.
        self.initial.pop("client_secret", None)
        field = self.fields["client_secret"]
        if self.instance.pk and self._stored_secret:
            field.help_text = _(
                "A secret is stored. Leave blank to keep it; type a new one to replace it."
            )
        else:
            field.required = True
            field.help_text = _(
                "From the incoming link in Jira. Stored encrypted, never shown again."
            )

    def clean_client_secret(self) -> str:
        value: str = self.cleaned_data.get("client_secret") or ""
        return value or self._stored_secret

    def clean_client_id(self) -> str:
        return str(self.cleaned_data.get("client_id") or "").strip()

    def clean_ca_bundle(self) -> str:
        value = str(self.cleaned_data.get("ca_bundle") or "").strip()
        return value + "\n" if value else ""
