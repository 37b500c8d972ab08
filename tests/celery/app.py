"""A Celery app set up as a host site would set up its own, for the tests.

Configured from Django settings (``CELERY_*``), with Redis as broker and
result backend, and autodiscovery finding ``jira_connect.tasks``. The
real-worker test starts ``python -m celery -A tests.celery.app worker`` with it.
"""

from __future__ import annotations

import os

from celery import Celery  # type: ignore[import-untyped, import-not-found, unused-ignore]

#: A Redis database of its own, flushed by the tests that use it.
REDIS_URL = os.environ.get("JIRA_CONNECT_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

app = Celery("tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    broker_url=REDIS_URL,
    result_backend=REDIS_URL,
    result_extended=True,  # results name their task, so the test can tell them apart
    broker_connection_retry_on_startup=True,
)
app.autodiscover_tasks()
