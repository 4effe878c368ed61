"""The checkpoint key and HMAC-SHA256 signatures over chain heads.

A checkpoint signs ``canonical_json({"seq", "head_hash", "ts"})`` with HMAC-SHA256. Anyone who can
write the database can rebuild a consistent hash chain; they cannot forge a checkpoint without the
key, so a rewritten history fails verification at the first checkpoint it contradicts. Keep the key
outside the database host's backups (a secret store, the service's environment).

The key comes from configuration (``WARDROUND_AUDIT_KEY``); library code never reads the
environment: entry points pass the configured value to ``checkpoint_key``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from core.audit.errors import AuditKeyMissing
from core.audit.events import canonical_json

MIN_KEY_BYTES = 32
"""RFC 2104 §3: keys shorter than the hash output (32 bytes for SHA-256) weaken HMAC."""


def checkpoint_key(configured: SecretStr | str | bytes | None) -> bytes | None:
    """The HMAC key from its configured value (UTF-8 text, e.g. ``secrets.token_urlsafe(32)``).

    ``None`` or empty means "no key": appends and verification work, checkpoints cannot be
    written and existing checkpoint signatures are reported as unchecked.
    """
    if isinstance(configured, SecretStr):
        configured = configured.get_secret_value()
    if not configured:
        return None
    key = configured.encode("utf-8") if isinstance(configured, str) else configured
    if len(key) < MIN_KEY_BYTES:
        raise AuditKeyMissing(
            f"the audit checkpoint key must be at least {MIN_KEY_BYTES} bytes; generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    return key


KEPT_KEY_FILE = "audit.key"
"""The key kept in the data dir when none is configured (file mode 0600)."""
UNSIGNED_WARNING = (
    "no audit key (WARDROUND_AUDIT_KEY): the hash chain alone cannot show a deleted tail or a "
    "chain re-hashed by someone who can write the audit database"
)


def kept_key(data_dir: Path, *, create: bool) -> bytes | None:
    """The key kept in ``data_dir`` (made on first use when ``create``): signing by default.

    Weaker than a configured key (whoever can read the data dir can forge a checkpoint), but it
    catches a deleted tail and a re-hashed chain written by anyone who cannot."""
    path = data_dir / KEPT_KEY_FILE
    if not path.is_file():
        if not create:
            return None
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_urlsafe(32))
    return checkpoint_key(path.read_text(encoding="utf-8").strip())


def sign_head(key: bytes, *, seq: int, head_hash: str, ts: str) -> str:
    message = canonical_json({"seq": seq, "head_hash": head_hash, "ts": ts})
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signature_valid(key: bytes, signature: str, *, seq: int, head_hash: str, ts: str) -> bool:
    expected = sign_head(key, seq=seq, head_hash=head_hash, ts=ts)
    return hmac.compare_digest(expected, signature)
