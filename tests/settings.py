"""Settings for the test suite. The database comes from DATABASE_URL (SQLite when unset)."""

from __future__ import annotations

import os

import environ

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

DATABASE_URL = os.environ.get("DATABASE_URL") or "sqlite://:memory:"
if DATABASE_URL.startswith(("mysql:", "mariadb:")):
    # PyMySQL (pure Python, so no compiler or client headers) stands in for mysqlclient.
    import pymysql  # type: ignore[import-untyped]

    pymysql.version_info = (2, 2, 1, "final", 0)  # what Django asks of mysqlclient
    pymysql.install_as_MySQLdb()
    DATABASE_URL = "mysql:" + DATABASE_URL.split(":", 1)[1]


def _database(url: str, suffix: str = "") -> dict[str, object]:
    config = environ.Env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.mysql":
        config["OPTIONS"] = {"charset": "utf8mb4"}
        config["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    if suffix and config["NAME"] != ":memory:":
        config["NAME"] = f"{config['NAME']}_{suffix}"
    return config


DATABASES = {
    "default": _database(DATABASE_URL),
    # A second database for the router tests (tests/routers.py); tests ask for it by name.
    "other": _database(DATABASE_URL, "other"),
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "jira_connect",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Django's debug page would show secrets held by a failing call; this keeps them hidden.
DEFAULT_EXCEPTION_REPORTER_FILTER = "jira_connect.debug.SensitiveExceptionReporterFilter"

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

STATIC_URL = "/static/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only

JIRA_CONNECT = {
    # Fixed test keys: never use these anywhere else.
    "ENCRYPTION_KEYS": ["JCPbd9U1xHhqaF1kqMqo6Rt0Zr2nEuu8S-hvAOTsB-Y="],
    "ALLOW_HTTP": True,
}
SILENCED_SYSTEM_CHECKS = ["jira_connect.W003"]  # ALLOW_HTTP is on for the simulator
