"""country: every ISO 3166-1 alpha-2 code with its name, whether it is a former code, and
since when the country is a Party to CITES (the day the Convention entered into force for it).

Hand-reviewed. The rows are computed here, from the pycountry installed when this revision
runs, and inserted: once migrated, the table keeps them whatever pycountry later says (names
and codes change only by a later migration, the CITES dates by PATCH). Every current country,
and pycountry's historic countries that have an alpha-2 code (SU, YU, DD, CS, ...), marked
`former`, which the CITES trade data still uses. A historic code that is assigned again today
(AI, BQ, BY, GE, SK) is the current country's only. CS named Czechoslovakia, then Serbia and
Montenegro: its name gives both.

`cites_party_since` is filled only for the countries below, from the Secretariat's list of
Parties (its chronological list, `SOURCE`), and `source_url` with it; every other country has
both null, which means "not recorded", not "not a Party". The Russian Federation continues the
USSR's membership, in force since 1976-12-08. The Democratic People's Republic of Korea is not
a Party: a null date with the source. An admin adds the others (PATCH /countries/{code}).

The downgrade drops the table and whatever was recorded in it.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pycountry
import sqlalchemy as sa
import sqlmodel
from alembic import op

from app.models.base import UTCDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOURCE = "https://cites.org/eng/disc/parties/chronolo.php"
# Code -> the day the Convention entered into force for it (None: not a Party), as SOURCE
# gives it: 90 days after the instrument was deposited, or 1975-07-01 for the first ten.
PARTIES: dict[str, date | None] = {
    "CH": date(1975, 7, 1),
    "US": date(1975, 7, 1),
    "GB": date(1976, 10, 31),
    "SU": date(1976, 12, 8),
    "RU": date(1976, 12, 8),  # the USSR's membership, continued
    "JP": date(1980, 11, 4),
    "CN": date(1981, 4, 8),
    "KP": None,
}


def country_rows(now: datetime) -> list[dict[str, Any]]:
    """The rows to insert: pycountry's current countries, then its historic ones with an
    alpha-2 code not assigned today (one row per code, names joined)."""
    rows: dict[str, dict[str, Any]] = {}
    for country in pycountry.countries:
        rows[country.alpha_2] = {"code": country.alpha_2, "name": country.name, "former": False}
    for country in pycountry.historic_countries:
        code = getattr(country, "alpha_2", None)
        if code is None or (code in rows and not rows[code]["former"]):
            continue
        if code in rows:
            rows[code]["name"] += f"; then {country.name}"
        else:
            rows[code] = {"code": code, "name": country.name, "former": True}
    for row in rows.values():
        known = row["code"] in PARTIES
        row["cites_party_since"] = PARTIES.get(row["code"])
        row["source_url"] = SOURCE if known else None
        row["updated_at"] = now
    return sorted(rows.values(), key=lambda r: r["code"])


def upgrade() -> None:
    country = op.create_table(
        "country",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("former", sa.Boolean(), nullable=False),
        sa.Column("cites_party_since", sa.Date(), nullable=True),
        sa.Column("source_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_country")),
    )
    op.bulk_insert(country, country_rows(datetime.now(UTC)))


def downgrade() -> None:
    op.drop_table("country")
