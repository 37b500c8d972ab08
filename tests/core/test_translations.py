"""The French translation: shipped compiled, complete, and used where users see text."""

from __future__ import annotations

import gettext
import re
import shutil
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import models
from django.test import override_settings
from django.utils import translation

import jira_connect
from jira_connect import validators
from jira_connect.models import JiraConnection, JiraLink
from jira_connect.scopes import SCOPES

PACKAGE = Path(jira_connect.__file__).resolve().parent
LC_MESSAGES = PACKAGE / "locale" / "fr" / "LC_MESSAGES"
PO = LC_MESSAGES / "django.po"
MO = LC_MESSAGES / "django.mo"
NBSP = "\N{NO-BREAK SPACE}"  # French typography: before « : ; ? ! » and inside guillemets

PLACEHOLDER = re.compile(r"%\(\w+\)[a-z]|%[a-z]")
MARKUP = re.compile(r"<[^>]*>|\{\{.*?\}\}|\{%.*?%\}")


# --- a small .po reader (no dependency) ----------------------------------------------------------


def _unquote(text: str) -> str:
    assert text.startswith('"'), text
    assert text.endswith('"'), text
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda match: escapes[match.group(1)], text[1:-1])


def read_po(path: Path) -> list[dict[str, object]]:
    """Entries as dicts: msgctxt, msgid, msgid_plural, msgstr (a list), flags."""
    entries: list[dict[str, object]] = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry: dict[str, object] = {"flags": set(), "msgstr": []}
        key = ""
        for line in block.strip().splitlines():
            if line.startswith("#~"):  # obsolete entry: not part of the catalog
                entry = {}
                break
            if line.startswith("#,"):
                entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}  # type: ignore[operator]
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                if key.startswith("msgstr"):
                    strings = entry["msgstr"]
                    assert isinstance(strings, list)
                    strings[-1] += _unquote(line)
                else:
                    entry[key] = str(entry[key]) + _unquote(line)
            else:
                key, _, value = line.partition(" ")
                if key.startswith("msgstr"):
                    strings = entry["msgstr"]
                    assert isinstance(strings, list)
                    strings.append(_unquote(value))
                else:
                    entry[key] = _unquote(value)
        if "msgid" in entry:
            entries.append(entry)
    return entries


def messages() -> list[dict[str, object]]:
    return [entry for entry in read_po(PO) if entry["msgid"]]


def header() -> str:
    [first] = [entry for entry in read_po(PO) if entry["msgid"] == ""]
    strings = first["msgstr"]
    assert isinstance(strings, list)
    return str(strings[0])


# --- (a) the files --------------------------------------------------------------------------------


def test_po_and_mo_are_shipped() -> None:
    assert PO.is_file()
    assert MO.is_file()


def test_mo_loads_with_the_french_plural_rule() -> None:
    with MO.open("rb") as file:
        catalog = gettext.GNUTranslations(file)
    assert catalog.info()["language"] == "fr"
    assert "charset=utf-8" in catalog.info()["content-type"].lower()
    assert catalog.gettext("Jira connections") == "Connexions Jira"
    # French: 0 and 1 are singular.
    singular = "Jira issued new tokens for %(count)d connection."
    plural = "Jira issued new tokens for %(count)d connections."
    one = "Jira a émis de nouveaux jetons pour %(count)d connexion."
    many = "Jira a émis de nouveaux jetons pour %(count)d connexions."
    assert [catalog.ngettext(singular, plural, n) for n in (0, 1, 2)] == [one, one, many]


def test_header() -> None:
    text = header()
    assert "Language: fr\n" in text
    assert "Plural-Forms: nplurals=2; plural=(n > 1);\n" in text
    assert "Content-Type: text/plain; charset=UTF-8\n" in text
    assert "Project-Id-Version: django-jira-connect" in text
    assert "fuzzy" not in str(read_po(PO)[0]["flags"])


def test_mo_is_compiled_from_the_current_po() -> None:
    """A .po edited without running compilemessages would ship stale French."""
    with MO.open("rb") as file:
        catalog = gettext.GNUTranslations(file)
    for entry in messages():
        msgid, strings = str(entry["msgid"]), entry["msgstr"]
        assert isinstance(strings, list)
        context = entry.get("msgctxt")
        if "msgid_plural" in entry:
            plural = str(entry["msgid_plural"])
            for count, expected in ((1, strings[0]), (2, strings[1])):
                got = (
                    catalog.npgettext(str(context), msgid, plural, count)
                    if context
                    else catalog.ngettext(msgid, plural, count)
                )
                assert got == expected, msgid
        else:
            got = catalog.pgettext(str(context), msgid) if context else catalog.gettext(msgid)
            assert got == strings[0], msgid


# --- (b) French where it is used --------------------------------------------------------------------


def _verbose_name(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return str(field.verbose_name)


def test_model_names() -> None:
    with translation.override("fr"):
        assert str(JiraLink._meta.verbose_name) == "lien Jira"
        assert str(JiraConnection._meta.verbose_name_plural) == "Connexions Jira"
        assert _verbose_name(JiraLink, "client_secret") == "secret client"
        assert _verbose_name(JiraConnection, "refresh_token") == "jeton de rafraîchissement"
        assert str(dict(JiraConnection.Status.choices)["reauth_required"]) == "À reconnecter"


def test_scope_meaning() -> None:
    with translation.override("fr"):
        assert str(SCOPES["READ"].meaning) == (
            "Consulter les projets et les tickets, leurs éléments associés, "
            "ainsi que votre propre profil."
        )
        assert str(SCOPES["SYSTEM_ADMIN"].meaning) == "Toutes les fonctions d'administration."
    assert str(SCOPES["SYSTEM_ADMIN"].meaning) == "All administration functions."


def test_validator_message() -> None:
    with translation.override("fr"), pytest.raises(ValidationError) as caught:
        validators.validate_base_url("ftp://x")
    assert caught.value.messages == [
        "Saisissez l'adresse complète de votre Jira, commençant par https://, "
        "p. ex. https://jira.example.com/jira."
    ]


def test_validator_message_with_a_placeholder() -> None:
    with translation.override("fr"), pytest.raises(ValidationError) as caught:
        validators.validate_base_url("https://jira.example.com/browse/ABC-1")
    assert caught.value.messages == [
        "Cela ressemble à l'adresse d'une page de Jira, et non à l'URL de base de Jira. "
        f"Vouliez-vous dire https://jira.example.com{NBSP}?"
    ]


# tests/settings.py has no LocaleMiddleware: the test client runs the view in this thread, so
# translation.override() decides the language of the page.


def test_connections_page_in_french(client, user_factory, link_factory, connection_factory) -> None:
    user = user_factory()
    waiting = link_factory(name="Acme Jira")
    connection_factory(user=user, link=link_factory(name="Beta Jira"))
    client.force_login(user)
    with translation.override("fr"):
        html = client.get("/jira/").content.decode()
    assert "<title>Connexions Jira</title>" in html
    assert "<h1>Connexions Jira</h1>" in html
    assert '<th scope="col">Statut</th>' in html
    assert "Non connecté" in html
    assert "en tant que Alice Example (alice)" in html
    assert f">Connecter {waiting.name}</button>" in html
    assert '>Déconnecter<span class="jc-sr"> Beta Jira</span></button>' in html
    assert "Not connected" not in html
    assert "Disconnect<" not in html


def test_error_page_in_french(client, user_factory) -> None:
    client.force_login(user_factory())
    with translation.override("fr"):
        response = client.get("/jira/callback/")
    html = response.content.decode()
    assert response.status_code == 400
    assert "<h1>Échec de la connexion</h1>" in html
    assert f"La réponse de Jira ne contient pas de paramètre «{NBSP}state{NBSP}»." in html
    assert "Retour à vos connexions Jira" in html


def test_english_stays_the_default(client, user_factory) -> None:
    client.force_login(user_factory())
    with translation.override("en"):
        html = client.get("/jira/").content.decode()
    assert "<h1>Jira connections</h1>" in html


# --- (c) the catalog is complete and safe to format ----------------------------------------------


def _ids(entry: dict[str, object]) -> str:
    return str(entry["msgid"])


@pytest.mark.parametrize("entry", messages(), ids=_ids)
def test_every_message_is_translated(entry: dict[str, object]) -> None:
    strings = entry["msgstr"]
    assert isinstance(strings, list)
    assert "fuzzy" not in entry["flags"]  # type: ignore[operator]
    assert len(strings) == (2 if "msgid_plural" in entry else 1)
    assert all(text.strip() for text in strings)


@pytest.mark.parametrize("entry", messages(), ids=_ids)
def test_placeholders_and_markup_are_kept(entry: dict[str, object]) -> None:
    strings = entry["msgstr"]
    assert isinstance(strings, list)
    sources = [str(entry["msgid"])]
    if "msgid_plural" in entry:  # French: msgstr[0] for 0 and 1, msgstr[1] for the rest
        sources.append(str(entry["msgid_plural"]))
    for source, text in zip(sources, strings, strict=True):
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(source))
        assert sorted(MARKUP.findall(text)) == sorted(MARKUP.findall(source))
        # A lone "%" would break "% {...}" formatting of python-format strings.
        if "python-format" in entry["flags"]:  # type: ignore[operator]
            assert "%" not in PLACEHOLDER.sub("", text).replace("%%", "")


def test_the_catalog_is_not_empty() -> None:
    assert len(messages()) > 150


# The space before these, or inside guillemets, is a no-break one: a line break there would leave
# the mark alone at the start of a line.
_BREAKABLE_SPACE = re.compile(r" [:;?!»]|« ")
# ...and the space must be there: "Jira:" is English typography. Not "https://" nor "a:b".
_MISSING_SPACE = re.compile(
    r"[^\s\N{NO-BREAK SPACE}][;?!](?=\s|$)|[^\s\N{NO-BREAK SPACE}/]:(?=\s|$)"
    r"|«(?!\N{NO-BREAK SPACE})|(?<!\N{NO-BREAK SPACE})»"
)


@pytest.mark.parametrize("entry", messages(), ids=_ids)
def test_french_typography(entry: dict[str, object]) -> None:
    """No-break spaces where French typography puts a space; « » rather than English quotes."""
    strings = entry["msgstr"]
    assert isinstance(strings, list)
    for text in strings:
        assert not _BREAKABLE_SPACE.search(text), text
        assert not _MISSING_SPACE.search(text), text
        assert "“" not in text, text  # English quotes: French uses « »
        assert "”" not in text, text


# --- (d) the catalog is current ---------------------------------------------------------------------

_GETTEXT_TOOLS = ("xgettext", "msguniq", "msgmerge", "msgattrib")


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in _GETTEXT_TOOLS),
    reason="makemessages needs GNU gettext (xgettext, msguniq, msgmerge, msgattrib); "
    "install the gettext package to check that the French catalog is current",
)
def test_catalog_has_every_message_the_source_marks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A string marked for translation but missing from the .po would show up in English.

    Runs makemessages, as a maintainer would, on a copy of the package: it
    extracts what the source marks and merges it into the shipped catalog, so
    whatever it adds untranslated or fuzzy is what the shipped catalog lacks.
    """
    copy = tmp_path / "jira_connect"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    monkeypatch.chdir(copy)
    with override_settings(LOCALE_PATHS=[]):  # so makemessages writes into ./locale: the copy's
        call_command("makemessages", locale=["fr"], no_obsolete=True, verbosity=0)
    shipped = {(entry.get("msgctxt"), entry["msgid"]) for entry in messages()}
    stale = []
    for entry in read_po(copy / "locale" / "fr" / "LC_MESSAGES" / "django.po"):
        if not entry["msgid"]:
            continue
        strings = entry["msgstr"]
        assert isinstance(strings, list)
        missing = (entry.get("msgctxt"), entry["msgid"]) not in shipped
        fuzzy = "fuzzy" in entry["flags"]  # type: ignore[operator]
        if missing or fuzzy or not all(text.strip() for text in strings):
            stale.append(str(entry["msgid"]))
    assert not stale, (
        f"{len(stale)} message(s) marked in the source lack a French translation; run "
        "makemessages -l fr --no-obsolete in jira_connect/, translate, then compilemessages: "
        + "".join(f"\n  {msgid}" for msgid in stale)
    )
