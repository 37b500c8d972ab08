"""Checks that a built wheel holds every file of the package, and nothing else.

Every file under ``jira_connect/`` in the source tree (templates,
migrations, translations, ``py.typed`` included) must be in the wheel, so a
forgotten ``package_data`` pattern fails CI instead of a user's install.
"""

from __future__ import annotations

import sys
import zipfile
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "jira_connect"
ALWAYS = ["jira_connect/py.typed", "jira_connect/migrations/0001_initial.py"]
IGNORED = ["*.pyc", "*/__pycache__/*", "*.po~"]


def source_files() -> set[str]:
    files = set()
    for path in (ROOT / PACKAGE).rglob("*"):
        name = path.relative_to(ROOT).as_posix()
        if path.is_file() and not any(fnmatch(name, pattern) for pattern in IGNORED):
            files.add(name)
    return files


def main(wheel: str) -> int:
    names = {name for name in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in name}
    expected = source_files()
    problems = [f"missing {name}" for name in sorted(expected - names)]
    problems += [f"missing {name}" for name in ALWAYS if name not in names]
    problems += [
        f"should not ship {name}" for name in sorted(names) if not name.startswith(f"{PACKAGE}/")
    ]
    for problem in problems:
        print(f"wheel check: {problem}", file=sys.stderr)
    if not problems:
        print(f"wheel check: {Path(wheel).name} holds all {len(names)} package files")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
