"""The packaging check: what a user gets from ``pip install django-jira-connect`` works.

1. ``python -m build`` makes an sdist and a wheel; ``twine check`` passes on both.
2. The wheel holds every file of the package (``check_wheel.py``).
3. The wheel, installed into a brand-new virtual environment, goes into a brand-new
   ``django-admin startproject`` site, which migrates and passes ``manage.py check``
   (``--deploy`` included), and the installed package holds its templates,
   migrations, translations, static files and ``py.typed``.

Run as ``python scripts/check_package.py`` from the repository (``.ci/run`` does).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY = "JCPbd9U1xHhqaF1kqMqo6Rt0Zr2nEuu8S-hvAOTsB-Y="

SETTINGS_ADDITION = f'''
INSTALLED_APPS += ["jira_connect"]
JIRA_CONNECT = {{"ENCRYPTION_KEYS": ["{KEY}"]}}
DEFAULT_EXCEPTION_REPORTER_FILTER = "jira_connect.debug.SensitiveExceptionReporterFilter"
'''
URLS_ADDITION = """
from django.urls import include
urlpatterns += [path("jira/", include("jira_connect.urls"))]
"""
DEPLOY_ENV = {
    # What a production site sets; startproject's defaults fail --deploy on their own.
    "DJANGO_DEPLOY_OVERRIDES": "1",
}
DEPLOY_SETTINGS = """
import os
if os.environ.get("DJANGO_DEPLOY_OVERRIDES"):
    DEBUG = False
    ALLOWED_HOSTS = ["app.example.com"]
    SECRET_KEY = "packaging-check-" + "k" * 60
    SECURE_SSL_REDIRECT = SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = True
"""
PRESENT = """
import importlib.resources as r
package = r.files("jira_connect")
needed = ["py.typed", "migrations/0001_initial.py", "templates/jira_connect/base.html",
          "templates/jira_connect/connections.html", "templates/admin/jira_connect/jiralink/change_form.html",
          "static/jira_connect/admin.css"]
missing = [name for name in needed if not (package / name).is_file()]
mo = list((package / "locale").glob("*/LC_MESSAGES/django.mo")) if (package / "locale").is_dir() else []
if not mo:
    missing.append("locale/*/LC_MESSAGES/django.mo")
assert not missing, f"missing from the installed package: {missing}"
print(f"installed package holds {len(needed)} required files and {len(mo)} translation(s)")
"""


def run(*args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    import os

    shown = " ".join(
        str(a) if len(str(a)) < 120 and "\n" not in str(a) else "<script>" for a in args
    )
    print("$", shown, flush=True)
    result = subprocess.run(  # noqa: S603
        [str(a) for a in args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        raise SystemExit(f"failed: {' '.join(str(a) for a in args)}")
    return result.stdout


def check_classifiers(wheel: Path) -> None:
    """Every classifier is a real one (PyPI refuses an upload with an unknown classifier)."""
    import zipfile

    from trove_classifiers import classifiers

    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = archive.read(name).decode()
    declared = [
        line.split(": ", 1)[1] for line in metadata.splitlines() if line.startswith("Classifier: ")
    ]
    unknown = [item for item in declared if item not in classifiers]
    if unknown:
        raise SystemExit(f"unknown classifiers: {unknown}")
    print(f"{len(declared)} classifiers, all known")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="jira-connect-package-") as tmp:
        work = Path(tmp)
        dist = work / "dist"
        run(sys.executable, "-m", "build", "--outdir", dist, ".")
        (wheel,) = dist.glob("*.whl")
        (sdist,) = dist.glob("*.tar.gz")
        run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist)
        run(sys.executable, ROOT / "scripts" / "check_wheel.py", wheel)
        check_classifiers(wheel)

        env_dir = work / "venv"
        venv.create(env_dir, with_pip=True)
        python = env_dir / "bin" / "python"
        run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel)
        run(python, "-c", PRESENT, cwd=work)

        project = work / "site-project"
        project.mkdir()
        run(env_dir / "bin" / "django-admin", "startproject", "mysite", project)
        settings = project / "mysite" / "settings.py"
        settings.write_text(settings.read_text() + SETTINGS_ADDITION + DEPLOY_SETTINGS)
        urls = project / "mysite" / "urls.py"
        urls.write_text(urls.read_text() + URLS_ADDITION)
        run(python, "manage.py", "migrate", "--noinput", cwd=project)
        run(python, "manage.py", "check", "--fail-level", "WARNING", cwd=project)
        run(
            python,
            "manage.py",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
            cwd=project,
            env=DEPLOY_ENV,
        )
        run(
            python,
            "manage.py",
            "makemigrations",
            "--check",
            "--dry-run",
            "jira_connect",
            cwd=project,
        )
        print(
            "packaging check: the wheel installs into a new project, migrates and passes check --deploy"
        )


if __name__ == "__main__":
    main()
