"""Forms shared by the admin (and, later, other staff tools)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jira_connect.models import JiraLink


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
