"""Settings are validated once per change, yet a change takes effect at once.

``conf.py`` keeps validated values until ``JIRA_CONNECT`` changes; these tests
change it every way a site or its tests do (``override_settings``,
pytest-django's ``settings`` fixture, a dict changed in place and announced
with ``setting_changed``) and check that the very next read, and the very next
encryption, follows.
"""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.signals import setting_changed
from django.test import override_settings

from jira_connect import crypto
from jira_connect.conf import Timeout, app_settings
from jira_connect.exceptions import JiraConnectConfigurationError, SecretDecryptionError
from tests.conftest import jira_connect_settings

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def timeout() -> Timeout:
    return app_settings.HTTP_TIMEOUT


def test_a_kept_value_gives_way_to_override_settings_at_once() -> None:
    assert timeout() == 10.0  # read, and kept
    with override_settings(JIRA_CONNECT=jira_connect_settings(HTTP_TIMEOUT=(3, 7))):
        assert timeout() == (3.0, 7.0)
        with override_settings(JIRA_CONNECT=jira_connect_settings(HTTP_TIMEOUT=4)):
            assert timeout() == 4.0
        assert timeout() == (3.0, 7.0)
    assert timeout() == 10.0


def test_an_invalid_value_fails_at_once_and_on_every_read() -> None:
    assert app_settings.REFRESH_LEEWAY == 60
    with override_settings(JIRA_CONNECT=jira_connect_settings(REFRESH_LEEWAY=-1)):
        for _ in range(2):
            with pytest.raises(JiraConnectConfigurationError, match="REFRESH_LEEWAY"):
                app_settings.REFRESH_LEEWAY  # noqa: B018
    assert app_settings.REFRESH_LEEWAY == 60


def test_the_settings_fixture_and_its_removal_are_followed(settings) -> None:
    assert app_settings.STATE_TTL == 600
    settings.JIRA_CONNECT = jira_connect_settings(STATE_TTL=30)
    assert app_settings.STATE_TTL == 30
    del settings.JIRA_CONNECT  # pytest-django sends no setting_changed for this
    assert app_settings.STATE_TTL == 600
    assert app_settings.ENCRYPTION_KEYS == ()


def test_a_dict_changed_in_place_is_followed_once_announced() -> None:
    changing = jira_connect_settings()
    with override_settings(JIRA_CONNECT=changing):
        assert app_settings.ALLOW_HTTP is True
        changing["ALLOW_HTTP"] = False
        setting_changed.send(
            sender=type(changing), setting="JIRA_CONNECT", value=changing, enter=True
        )
        assert app_settings.ALLOW_HTTP is False


def test_new_encryption_keys_apply_to_the_next_encryption_and_decryption() -> None:
    with override_settings(JIRA_CONNECT=jira_connect_settings(ENCRYPTION_KEYS=[KEY_A])):
        under_a = crypto.encrypt("secret one")
        assert crypto.decrypt(under_a) == "secret one"
        with override_settings(JIRA_CONNECT=jira_connect_settings(ENCRYPTION_KEYS=[KEY_B])):
            with pytest.raises(SecretDecryptionError):
                crypto.decrypt(under_a)
            under_b = crypto.encrypt("secret two")
        with pytest.raises(SecretDecryptionError):
            crypto.decrypt(under_b)
        rotated = jira_connect_settings(ENCRYPTION_KEYS=[KEY_B, KEY_A])
        with override_settings(JIRA_CONNECT=rotated):
            assert crypto.decrypt(under_a) == "secret one"
            assert crypto.decrypt(under_b) == "secret two"
            assert Fernet(KEY_B).decrypt(crypto.encrypt("three").encode()) == b"three"


def test_the_derived_development_key_follows_secret_key() -> None:
    with override_settings(JIRA_CONNECT={}, DEBUG=True, SECRET_KEY="first-" + "x" * 50):
        under_first = crypto.encrypt("secret")
        assert crypto.decrypt(under_first) == "secret"
        with (
            override_settings(SECRET_KEY="second-" + "y" * 50),
            pytest.raises(SecretDecryptionError),
        ):
            crypto.decrypt(under_first)
