"""Encrypt reporters' names and contacts at rest (finding 5).

welfare_report.reporter_name and reporter_contact become unbounded text (a Fernet token is
longer than the 200 characters allowed of the plaintext), and every stored value is encrypted
with the first key (app/core/crypto.py). The downgrade decrypts them and narrows the columns
again (the plaintext fits: the schemas never allowed more than 200 characters).

The key: the process's cipher when one is configured (`zoo-registry db upgrade` configures it
from the settings), else the settings' for this database (ZWR_SECRET_KEY, or on SQLite the key
file beside it). Only needed when there are values to convert.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from app.core import crypto
from app.core.config import get_settings

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIELDS = ("reporter_name", "reporter_contact")
# The columns as plain text, without the model's TypeDecorator: values are converted here.
REPORTS = sa.table(
    "welfare_report",
    sa.column("id", sa.Integer()),
    *(sa.column(name, sa.Text()) for name in FIELDS),
)


def _cipher() -> crypto.Cipher:
    try:
        return crypto.cipher()
    except crypto.NotConfigured:
        url = op.get_bind().engine.url.render_as_string(hide_password=False)
        return crypto.configure(get_settings().model_copy(update={"database_url": url}))


def _convert(change: Callable[[crypto.Cipher, str], str]) -> None:
    bind = op.get_bind()
    has_value = sa.or_(*(REPORTS.c[name].is_not(None) for name in FIELDS))
    rows = bind.execute(sa.select(REPORTS).where(has_value)).all()
    if not rows:
        return
    cipher = _cipher()
    update = (
        REPORTS.update()
        .where(REPORTS.c.id == sa.bindparam("row_id"))
        .values({name: sa.bindparam(f"new_{name}") for name in FIELDS})
    )
    bind.execute(
        update,
        [
            {"row_id": row.id}
            | {
                f"new_{name}": None
                if row._mapping[name] is None
                else change(cipher, row._mapping[name])
                for name in FIELDS
            }
            for row in rows
        ],
    )


def upgrade() -> None:
    with op.batch_alter_table("welfare_report") as batch:
        for name in FIELDS:
            batch.alter_column(
                name, existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=True
            )
    _convert(lambda cipher, value: cipher.encrypt(value))


def downgrade() -> None:
    _convert(lambda cipher, token: cipher.decrypt(token))
    with op.batch_alter_table("welfare_report") as batch:
        for name in FIELDS:
            batch.alter_column(
                name, existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=True
            )
