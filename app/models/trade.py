"""TradeRecord: one row of the CITES Trade Database's comparative tabulation (a year's trade in
one taxon between two countries, for one term, unit, purpose and source, with the quantity
the importer reported and the quantity the exporter reported).

Rows are imported from the file researchers download (app/records/cites_trade.py reads it);
`key` is a digest of every field but the quantities, so importing a file again changes
nothing, and importing a newer download of the same years updates the quantities it revised.
"""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.models.base import NAME_MAX, SHORT_MAX, UTCDateTime, id_table_args, utcnow

KEY_LENGTH = 32
# CITES names the appendix I, II or III; N: not listed in the Appendices (the data keep trade
# reported in taxa no longer, or not, listed).
APPENDICES = ("I", "II", "III", "N")
TERM_LIVE = "live"  # the Term of live specimens


class TradeRecord(SQLModel, table=True):
    __tablename__ = "trade_record"
    __table_args__ = id_table_args(
        # The trade rules' question: this taxon, from this exporter to this importer, these years.
        Index(
            "ix_trade_record_taxon_exporter_importer_year", "taxon", "exporter", "importer", "year"
        ),
        Index("ix_trade_record_importer_year", "importer", "year"),
        Index("ix_trade_record_exporter_year", "exporter", "year"),
        Index("ix_trade_record_year", "year"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=KEY_LENGTH, unique=True)
    year: int
    appendix: str = Field(max_length=3)
    taxon: str = Field(max_length=NAME_MAX)
    taxon_class: str | None = Field(default=None, max_length=SHORT_MAX)
    taxon_order: str | None = Field(default=None, max_length=SHORT_MAX)
    family: str | None = Field(default=None, max_length=SHORT_MAX)
    genus: str | None = Field(default=None, max_length=SHORT_MAX)
    importer: str = Field(min_length=2, max_length=2)
    exporter: str = Field(min_length=2, max_length=2)
    origin: str = Field(min_length=2, max_length=2)
    importer_quantity: float | None = None
    exporter_quantity: float | None = None
    term: str = Field(max_length=SHORT_MAX)
    unit: str | None = Field(default=None, max_length=SHORT_MAX)
    purpose: str | None = Field(default=None, max_length=2)
    source: str | None = Field(default=None, max_length=2)
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TradeRecordPublic(SQLModel):
    id: int
    year: int = Field(description="The year of the trade.")
    appendix: str = Field(description="The Appendix (I, II, III; N: not listed) as reported.")
    taxon: str = Field(description="The taxon as the CITES Trade Database names it.")
    taxon_class: str | None
    taxon_order: str | None
    family: str | None
    genus: str | None
    importer: str = Field(description="ISO 3166-1 alpha-2 code of the importing country.")
    exporter: str = Field(description="ISO 3166-1 alpha-2 code of the exporting country.")
    origin: str = Field(
        description="The country of origin; the exporter when the file left it blank."
    )
    importer_quantity: float | None = Field(
        description="The quantity the importer reported; null: not reported (unknown, not 0)."
    )
    exporter_quantity: float | None = Field(
        description="The quantity the exporter reported; null: not reported (unknown, not 0)."
    )
    term: str = Field(description="What was traded, in words (live, skins, bodies, ...).")
    unit: str | None = Field(description="The unit of the quantities; null: specimens.")
    purpose: str | None = Field(description="The purpose code (Z: zoo, T: commercial, ...).")
    source: str | None = Field(description="The source code (W: wild, C: captive-bred, ...).")
    imported_at: datetime

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": 1,
                    "year": 2019,
                    "appendix": "II",
                    "taxon": "Panthera leo",
                    "taxon_class": "Mammalia",
                    "taxon_order": "Carnivora",
                    "family": "Felidae",
                    "genus": "Panthera",
                    "importer": "CN",
                    "exporter": "ZA",
                    "origin": "ZA",
                    "importer_quantity": None,
                    "exporter_quantity": 4,
                    "term": "live",
                    "unit": None,
                    "purpose": "Z",
                    "source": "C",
                    "imported_at": "2026-12-03T12:00:00Z",
                }
            ]
        }
    }


class TradeImportResult(SQLModel):
    layout: str = Field(description="The file's layout: 16-column (current) or 13-column.")
    rows: int = Field(description="Data rows read.")
    created: int
    updated: int = Field(description="Rows already imported whose quantities changed.")
    unchanged: int

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"layout": "16-column", "rows": 3, "created": 2, "updated": 1, "unchanged": 0}
            ]
        }
    }
