from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JiraConnectConfig(AppConfig):
    name = "jira_connect"
    verbose_name = _("Jira")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Importing registers the system checks (they use @register).
        from jira_connect import checks  # noqa: F401
        from jira_connect._logging import install_redaction_filters

        # requests-oauthlib and oauthlib log bodies and tokens at DEBUG: filter them from the start.
        install_redaction_filters()
