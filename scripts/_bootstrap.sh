# Sourced by the other scripts: makes sure .venv exists and holds this
# project (editable) with the extras the caller names, reinstalling only when
# setup.cfg or the requested extras change. Nothing is needed beforehand but
# a Python 3.10+ interpreter (PYTHON, default python3).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${JIRA_CONNECT_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
# What the test suite needs: every optional integration is tested.
TEST_EXTRAS="test,lint,example,browser,celery,recipes,docs,bench,async"

bootstrap() {
    local extras="$1"
    local stamp="$VENV/.jira-connect-stamp"
    local want
    want="$(cat setup.cfg pyproject.toml | sha256sum | cut -c1-16) $extras $("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
    if [[ ! -x "$VENV/bin/python" ]]; then
        "$PYTHON" -m venv "$VENV"
    fi
    if [[ ! -f "$stamp" ]] || [[ "$(cat "$stamp")" != "$want" ]]; then
        echo "==> installing django-jira-connect[$extras] into $VENV" >&2
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[$extras]"
        echo "$want" > "$stamp"
    fi
    export PATH="$VENV/bin:$PATH"
}
