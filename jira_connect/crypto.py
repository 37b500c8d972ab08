"""Encryption of secrets at rest with Fernet, keyed by ``JIRA_CONNECT["ENCRYPTION_KEYS"]``.

We are the OAuth *client*: we must replay the client secret and the tokens,
so they are encrypted (not hashed, as a provider would hash them). The keys
are independent of ``SECRET_KEY`` so that rotating one does not lose the
other, and a list so they can be rotated without downtime (``MultiFernet``:
the first key encrypts, every key decrypts).
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from jira_connect.conf import app_settings, key_name
from jira_connect.exceptions import JiraConnectConfigurationError, SecretDecryptionError

_DERIVATION_SALT = b"django-jira-connect:encryption-key-from-secret-key:v1"


@functools.lru_cache(maxsize=4)
def derived_key(secret_key: str) -> bytes:
    """A Fernet key derived from ``SECRET_KEY``, for development without configured keys."""
    digest = hashlib.sha256(_DERIVATION_SALT + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def configured_keys() -> tuple[bytes, ...]:
    """The keys in force: the configured ones, or the derived one under ``DEBUG``.

    Cheap to call on every encrypt and decrypt: the setting is validated once per
    change (``conf.py``), the derived key computed once per ``SECRET_KEY``.
    """
    keys = app_settings.ENCRYPTION_KEYS
    if keys:
        return keys
    if settings.DEBUG:
        return (derived_key(settings.SECRET_KEY),)
    raise JiraConnectConfigurationError(
        f"{key_name('ENCRYPTION_KEYS')} is empty. Add at least one Fernet key "
        "(Fernet.generate_key()); a key derived from SECRET_KEY is only used when DEBUG is on."
    )


@functools.lru_cache(maxsize=8)
def _multi_fernet(keys: tuple[bytes, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def fernet(extra_decryption_keys: tuple[bytes, ...] = ()) -> MultiFernet:
    """The ``MultiFernet`` for the keys in force, cached per key list.

    The cache is keyed by the keys themselves, so a changed ``ENCRYPTION_KEYS``
    (``override_settings`` included) gets its own, decoded once.
    """
    return _multi_fernet(configured_keys() + extra_decryption_keys)


def primary_fernet() -> Fernet:
    """The key that encrypts: used to tell already-rotated values apart."""
    return _single_fernet(configured_keys()[0])


@functools.lru_cache(maxsize=8)
def _single_fernet(key: bytes) -> Fernet:
    return Fernet(key)


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(ciphertext: str, *, extra_decryption_keys: tuple[bytes, ...] = ()) -> str:
    """Decrypt, or raise ``SecretDecryptionError``: never return ciphertext or garbage."""
    try:
        return fernet(extra_decryption_keys).decrypt(ciphertext.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as err:
        raise decryption_error() from err


def decryption_error() -> SecretDecryptionError:
    return SecretDecryptionError(
        "A stored Jira secret cannot be decrypted with any key in "
        f"{key_name('ENCRYPTION_KEYS')}. Was a key removed before "
        "`manage.py jira_connect_rotate_keys` had re-encrypted every secret?"
    )
