"""API key format, hashing and constant-time checking."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_SCHEME = "zwr"
PREFIX_BYTES = 6  # 12 hex characters, shown in listings to tell keys apart
SECRET_BYTES = 32


@dataclass(frozen=True)
class KeyParts:
    prefix: str
    secret: str


def generate_key() -> tuple[str, KeyParts]:
    """A new key `zwr_<prefix>_<secret>` with 32 random bytes of secret."""
    parts = KeyParts(secrets.token_hex(PREFIX_BYTES), secrets.token_urlsafe(SECRET_BYTES))
    return f"{KEY_SCHEME}_{parts.prefix}_{parts.secret}", parts


def parse_key(token: str) -> KeyParts | None:
    """Splits a presented key; None if it is not shaped like one of ours."""
    scheme, _, rest = token.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != KEY_SCHEME or len(prefix) != 2 * PREFIX_BYTES or not secret:
        return None
    if any(ch not in "0123456789abcdef" for ch in prefix):
        return None
    return KeyParts(prefix, secret)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)
