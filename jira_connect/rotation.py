"""Re-encrypting every stored secret with the newest key.

Works on the raw ciphertext (read through a ``Cast`` so the field does not
decrypt it), in primary-key batches, each batch in its own transaction with
its rows locked (``select_for_update``) so a concurrent token refresh can
never be overwritten by a stale value. Values already encrypted with the
first key are skipped, so an interrupted run can simply be started again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.db import models, router, transaction
from django.db.models.functions import Cast

from jira_connect import crypto
from jira_connect.fields import EncryptedTextField
from jira_connect.models import JiraConnection, JiraLink


@dataclass
class RotationResult:
    checked: int = 0
    rotated: int = 0
    failed: int = 0


def encrypted_fields() -> Iterator[tuple[type[models.Model], list[str]]]:
    for model in (JiraLink, JiraConnection):
        names = [f.name for f in model._meta.get_fields() if isinstance(f, EncryptedTextField)]
        yield model, names


def rotate_encryption_keys(
    *,
    batch_size: int = 500,
    extra_decryption_keys: tuple[bytes, ...] = (),
    progress: Callable[[str], None] | None = None,
) -> RotationResult:
    """Re-encrypt every secret with the first key of ``ENCRYPTION_KEYS``.

    ``extra_decryption_keys`` are tried after the configured ones (for example
    the key derived from ``SECRET_KEY`` that served during development).
    """
    result = RotationResult()
    primary = crypto.primary_fernet()
    decrypter = crypto.fernet(extra_decryption_keys)
    for model, names in encrypted_fields():
        raw = {f"_raw_{name}": Cast(name, output_field=models.TextField()) for name in names}
        last_pk = 0
        using = router.db_for_write(model)
        manager = model._default_manager.db_manager(using)
        while True:
            with transaction.atomic(using=using):
                rows = list(
                    manager.select_for_update()
                    .filter(pk__gt=last_pk)
                    .order_by("pk")
                    .annotate(**raw)
                    .values_list("pk", *raw)[:batch_size]
                )
                if not rows:
                    break
                last_pk = rows[-1][0]
                # Per field, the rows whose value must be re-encrypted.
                pending: dict[str, list[models.Model]] = {name: [] for name in names}
                for pk, *ciphertexts in rows:
                    for name, ciphertext in zip(names, ciphertexts, strict=True):
                        if not ciphertext:
                            continue
                        result.checked += 1
                        plaintext = _plaintext_to_rotate(ciphertext, primary, decrypter, result)
                        if plaintext is not None:
                            pending[name].append(model(pk=pk, **{name: plaintext}))
                for name, instances in pending.items():
                    if instances:
                        # The field encrypts on the way in, with the first key.
                        manager.bulk_update(instances, [name])
                        result.rotated += len(instances)
            if progress:
                progress(
                    f"{model._meta.verbose_name_plural}: {result.checked} checked, {result.rotated} re-encrypted"
                )
    return result


def _plaintext_to_rotate(
    ciphertext: str, primary: Fernet, decrypter: MultiFernet, result: RotationResult
) -> str | None:
    """The plaintext when the value needs re-encrypting; ``None`` when it does not or cannot."""
    token = ciphertext.encode("ascii")
    try:
        primary.decrypt(token)
    except InvalidToken:
        pass
    else:
        return None  # already under the newest key
    try:
        return decrypter.decrypt(token).decode()
    except InvalidToken:
        result.failed += 1
        return None
