"""An exception reporter filter that hides secrets on Django's debug page too.

Django's ``SafeExceptionReporterFilter`` only cleanses ``sensitive_variables``
and ``sensitive_post_parameters`` when ``DEBUG`` is off, by design: a
developer debugging wants to see everything. But a developer debugging
against a real Jira also has real tokens and client secrets in those frames,
and a debug page is easily shared (a screenshot, a paste, a bug report). Set
``DEFAULT_EXCEPTION_REPORTER_FILTER = "jira_connect.debug.SensitiveExceptionReporterFilter"``
to keep the marked variables hidden whatever ``DEBUG`` says; everything else
on the page stays as Django shows it.
"""

from __future__ import annotations

from typing import Any

from django.views.debug import SafeExceptionReporterFilter


class SensitiveExceptionReporterFilter(SafeExceptionReporterFilter):
    """Cleanses variables and POST parameters marked sensitive even under ``DEBUG``."""

    def is_active(self, request: Any) -> bool:
        return True
