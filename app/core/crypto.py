"""Encryption at rest of private fields (reporters' names and contacts), with key rotation.

Keys are Fernet keys (`zoo-registry secrets generate-key` prints one). ZWR_SECRET_KEY holds
one or more, comma-separated: the first encrypts, every one decrypts (MultiFernet). Unset, on
SQLite a key file is made beside the database (`<database file>.secret-key`, mode 0600) the
first time the service or a command opens it, and on an in-memory database an ephemeral key
is used; both are logged as warnings on `zwr.secrets`. Unset on PostgreSQL, nothing starts.

Rotation:

1. Generate a new key and put it first: ZWR_SECRET_KEY=<new>,<old> (on SQLite without
   ZWR_SECRET_KEY, the key file holds the same comma-separated list). Restart: new values are
   encrypted with the new key, old ones still decrypt.
2. Run `zoo-registry secrets rotate`: every encrypted value is decrypted and encrypted again
   with the first key.
3. Drop the old key from the list and restart.

The cipher is process-wide, because SQLAlchemy's column types cannot reach per-app state:
`configure` is called wherever an engine is made (app/core/db.make_engine), before any read
or write. Keys configured earlier in the process keep decrypting (tests and tools open
several databases in one process); the last configured first key encrypts.
"""

import logging
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Connection, MetaData, Text, TypeDecorator, select, type_coerce
from sqlalchemy.engine import make_url

from app.core.config import Settings

logger = logging.getLogger("zwr.secrets")

KEY_FILE_SUFFIX = ".secret-key"


class SecretKeyMissing(RuntimeError):
    """No key to encrypt private fields with, where none may be generated (PostgreSQL)."""


class NotConfigured(RuntimeError):
    """A private field was read or written before `configure` was called."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


def parse_keys(value: str) -> list[bytes]:
    """Comma-separated Fernet keys, each checked (a bad key is refused at start-up)."""
    keys = [part.strip().encode() for part in value.split(",") if part.strip()]
    if not keys:
        raise SecretKeyMissing("ZWR_SECRET_KEY is empty")
    for n, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            # Never echo the key itself.
            raise SecretKeyMissing(
                f"key {n} of ZWR_SECRET_KEY is not a Fernet key (32 url-safe base64 bytes); "
                "make one with `zoo-registry secrets generate-key`"
            ) from None
    return keys


def key_file(database_url: str) -> Path | None:
    """Where the key of a SQLite database file is kept (None for other databases)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database + KEY_FILE_SUFFIX)


class KeyFolderMissing(SecretKeyMissing):
    """The SQLite database's folder does not exist (so neither can the database)."""


def _read_or_create_key_file(path: Path) -> str:
    if not path.parent.is_dir():
        raise KeyFolderMissing(f"no folder {path.parent} for the database and its key file")
    try:
        # O_EXCL: two processes starting at once agree on the one that wins.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    key = generate_key()
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key + "\n")
    logger.warning(
        "ZWR_SECRET_KEY is not set: generated a key for the private reporter fields in %s "
        "(mode 0600). Back it up with the database: without it they cannot be read.",
        path,
    )
    return key


def resolve_keys(settings: Settings) -> list[bytes]:
    """The keys for the settings' database: ZWR_SECRET_KEY, else (SQLite) the key file beside
    the database or an ephemeral key for an in-memory one; PostgreSQL needs ZWR_SECRET_KEY."""
    if settings.secret_key is not None:
        return parse_keys(settings.secret_key.get_secret_value())
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        raise SecretKeyMissing(
            "ZWR_SECRET_KEY is not set. On PostgreSQL the private reporter fields are "
            "encrypted with it and it is never generated: make one with "
            "`zoo-registry secrets generate-key` and set ZWR_SECRET_KEY."
        )
    path = key_file(settings.database_url)
    if path is None:
        logger.warning(
            "ZWR_SECRET_KEY is not set: using an ephemeral key for the in-memory database"
        )
        return [generate_key().encode()]
    return parse_keys(_read_or_create_key_file(path))


class Cipher:
    """Encrypts with the first key, decrypts with any."""

    def __init__(self, keys: list[bytes]) -> None:
        self.keys = keys
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            # No value in the message: it is private, and it is the ciphertext anyway.
            raise InvalidToken("a private field could not be decrypted with any key") from None

    def rotate(self, token: str) -> str:
        """The value encrypted again with the first key."""
        return self._fernet.rotate(token.encode()).decode()


_cipher: Cipher | None = None
# Settings whose key file could not be made yet (the SQLite folder is missing): read at first use.
_pending: Settings | None = None


def configure(settings: Settings) -> Cipher:
    """Sets the process-wide cipher for the settings' database and returns it; raises
    SecretKeyMissing when there is no key (PostgreSQL without ZWR_SECRET_KEY)."""
    global _cipher, _pending
    keys = resolve_keys(settings)
    earlier = [k for k in (_cipher.keys if _cipher else []) if k not in keys]
    _cipher, _pending = Cipher(keys + earlier), None
    return _cipher


def configure_for_engine(settings: Settings) -> None:
    """`configure`, except that a SQLite database whose folder does not exist yet starts
    anyway (readiness reports the database as unavailable); its key is read at first use."""
    global _pending
    try:
        configure(settings)
    except KeyFolderMissing as exc:
        logger.warning("the key of the private fields is not read yet: %s", exc)
        _pending = settings


def cipher() -> Cipher:
    if _pending is not None:
        try:
            return configure(_pending)
        except KeyFolderMissing as exc:
            raise NotConfigured(f"the key of the private fields cannot be read: {exc}") from None
    if _cipher is None:
        raise NotConfigured("the cipher for private fields is not configured (crypto.configure)")
    return _cipher


class EncryptedText(TypeDecorator[str]):
    """Text stored encrypted (a Fernet token, about 1.4 times longer plus 73 characters):
    the column is unbounded Text; length limits apply to the plaintext, in the schemas."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else cipher().encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else cipher().decrypt(value)


def undecryptable(connection: Connection, metadata: MetaData) -> str | None:
    """The first encrypted column (`table.column`) holding a value that none of the keys
    decrypts, or None: one stored value of each is tried, so a wrong key is found before a
    read of that column would fail."""
    for table in metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, EncryptedText):
                continue
            raw = type_coerce(column, Text)  # the stored token, not decrypted on the way
            token = connection.execute(select(raw).where(column.is_not(None)).limit(1)).scalar()
            if token is None:
                continue
            try:
                cipher().decrypt(token)
            except InvalidToken:
                return f"{table.name}.{column.name}"
    return None
