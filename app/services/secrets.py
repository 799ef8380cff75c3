"""Key rotation for the values encrypted at rest (app/core/crypto.py): reporters' names and
contacts, in reports and in public submissions, and the webhooks' signing secrets."""

import sqlalchemy as sa
from sqlmodel import Session

from app.core import crypto
from app.services.common import commit

ROTATE_BATCH = 500
REPORTER_FIELDS = ("reporter_name", "reporter_contact")
# Each table's encrypted columns, read as their stored tokens: rotated without decrypting
# into Python strings here.
ENCRYPTED = {
    "welfare_report": REPORTER_FIELDS,
    "submission": REPORTER_FIELDS,
    "webhook": ("secret",),
}


def rotate_private_fields(*, session: Session) -> int:
    """Encrypts every encrypted value again with the first key (MultiFernet.rotate), in
    batches by id, committed once; returns the number of rows rewritten. Run after putting a
    new key first in ZWR_SECRET_KEY; afterwards the old keys can be dropped."""
    rotated = sum(_rotate(session, name, fields) for name, fields in ENCRYPTED.items())
    commit(session)
    return rotated


def _rotate(session: Session, name: str, fields: tuple[str, ...]) -> int:
    cipher = crypto.cipher()
    table = sa.table(
        name, sa.column("id", sa.Integer()), *(sa.column(f, sa.Text()) for f in fields)
    )
    has_value = sa.or_(*(table.c[f].is_not(None) for f in fields))
    update = (
        table.update()
        .where(table.c.id == sa.bindparam("row_id"))
        .values({f: sa.bindparam(f"new_{f}") for f in fields})
    )
    rotated, after = 0, 0
    while True:
        stmt = (
            sa.select(table)
            .where(has_value, table.c.id > after)
            .order_by(table.c.id)
            .limit(ROTATE_BATCH)
        )
        rows = session.connection().execute(stmt).all()
        if not rows:
            return rotated
        params = [
            {"row_id": row.id}
            | {
                f"new_{f}": None if row._mapping[f] is None else cipher.rotate(row._mapping[f])
                for f in fields
            }
            for row in rows
        ]
        session.connection().execute(update, params)
        rotated += len(rows)
        after = rows[-1].id
