"""Key rotation for the private fields encrypted at rest (app/core/crypto.py)."""

import sqlalchemy as sa
from sqlmodel import Session

from app.core import crypto
from app.services.common import commit

ROTATE_BATCH = 500
PRIVATE_FIELDS = ("reporter_name", "reporter_contact")
# The stored tokens as plain text: rotated without decrypting into Python strings here.
_REPORTS = sa.table(
    "welfare_report",
    sa.column("id", sa.Integer()),
    *(sa.column(name, sa.Text()) for name in PRIVATE_FIELDS),
)


def rotate_private_fields(*, session: Session) -> int:
    """Encrypts every private field again with the first key (MultiFernet.rotate), in batches
    by id, committed once; returns the number of reports rewritten. Run after putting a new
    key first in ZWR_SECRET_KEY; afterwards the old keys can be dropped."""
    cipher = crypto.cipher()
    has_value = sa.or_(*(_REPORTS.c[name].is_not(None) for name in PRIVATE_FIELDS))
    update = (
        _REPORTS.update()
        .where(_REPORTS.c.id == sa.bindparam("row_id"))
        .values({name: sa.bindparam(f"new_{name}") for name in PRIVATE_FIELDS})
    )
    rotated, after = 0, 0
    while True:
        stmt = (
            sa.select(_REPORTS)
            .where(has_value, _REPORTS.c.id > after)
            .order_by(_REPORTS.c.id)
            .limit(ROTATE_BATCH)
        )
        rows = session.connection().execute(stmt).all()
        if not rows:
            break
        params = [
            {"row_id": row.id}
            | {
                f"new_{name}": None
                if row._mapping[name] is None
                else cipher.rotate(row._mapping[name])
                for name in PRIVATE_FIELDS
            }
            for row in rows
        ]
        session.connection().execute(update, params)
        rotated += len(rows)
        after = rows[-1].id
    commit(session)
    return rotated
