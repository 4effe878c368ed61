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


def sign_head(key: bytes, *, seq: int, head_hash: str, ts: str) -> str:
    message = canonical_json({"seq": seq, "head_hash": head_hash, "ts": ts})
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signature_valid(key: bytes, signature: str, *, seq: int, head_hash: str, ts: str) -> bool:
    expected = sign_head(key, seq=seq, head_hash=head_hash, ts=ts)
    return hmac.compare_digest(expected, signature)
