from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JiraConnectConfig(AppConfig):
    name = "jira_connect"
    verbose_name = _("Jira")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core.checks import Tags, register

        from jira_connect import checks, health, notices, signals
        from jira_connect._logging import install_redaction_filters

        # Registered here, not by decorators at import: importing checks.py (a test, a
        # tool) registers nothing, and the registrations sit with the app's other wiring.
        register(checks.check_settings, Tags.security)
        register(checks.check_debug_page, Tags.security)
        register(checks.check_request_handling)
        register(checks.check_frameworks)
        register(checks.check_links, Tags.database)

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
