from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JiraConnectConfig(AppConfig):
    name = "jira_connect"
    verbose_name = _("Jira")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Importing registers the system checks (they use @register).
        from jira_connect import checks, health, notices, signals  # noqa: F401
        from jira_connect._logging import install_redaction_filters

        # requests-oauthlib and oauthlib log bodies and tokens at DEBUG: filter them from the start.
        install_redaction_filters()

        # The health page's daily counters (jira_connect.health).
        signals.token_refreshed.connect(
            health.on_token_refreshed, dispatch_uid="jira_connect.health.refreshed"
        )
        signals.token_refresh_failed.connect(
            health.on_token_refresh_failed, dispatch_uid="jira_connect.health.refresh_failed"
        )
        # A user who connects again no longer needs to hear why staff disconnected them.
        signals.connected.connect(
            notices.on_connected, dispatch_uid="jira_connect.notices.connected"
        )
