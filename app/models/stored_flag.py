"""Each zoo's concern flags, stored: what the rules raised when last evaluated, kept up to date
by the writes (app/concerns/store.py). Derived data: it can always be rebuilt from the rest."""

from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, id_table_args, utcnow


def _zoo_column(*, primary_key: bool = False) -> Column[int]:
    # Goes with its zoo (SQLite reuses a deleted zoo's id).
    return Column(
        Integer,
        ForeignKey("zoo.id", ondelete="CASCADE"),
        nullable=False,
        primary_key=primary_key,
    )


class StoredFlag(SQLModel, table=True):
    """One flag a rule raised, explained as a concern list shows it: its reason in words, its
    incidents, and the name of its subject (app/concerns/explain.py)."""

    __tablename__ = "concern_flag"
    # Finds a zoo's rows to rank and then the page's subjects' flags; it covers the ranking
    # (index-only once PostgreSQL has vacuumed the table).
    __table_args__ = id_table_args(
        Index(
            "ix_concern_flag_zoo_subject",
            "zoo_id",
            "subject_type",
            "subject_id",
            "rule",
            "severity",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    zoo_id: int = Field(sa_column=_zoo_column())
    subject_type: str = Field(max_length=16)
    subject_id: int
    rule: str = Field(max_length=40)
    severity: int
    reason: str
    incident_ids: str  # comma-separated, ascending ("" for none)
    subject: str  # JSON: the subject's name, species and enclosure as a ConcernItem has them
    evidence: int  # 1 reported, 2 corroborated, 3 confirmed (app/concerns/evidence.py)
    zoo_replied_at: str | None = None  # ISO 8601: as the item's JSON has it


class StoredSubject(SQLModel, table=True):
    """One flagged subject of a zoo's stored list: its score, its worst severity and its whole
    item as the list renders it (ConcernItem's JSON), so an unfiltered page is a range of the
    ranking index, sent as stored."""

    __tablename__ = "concern_subject"
    # A zoo's subjects in the list's order, read backwards (score and worst severity
    # descending; ties sorted by subject), or a zoo's ~1,000 rows found for a top-N sort, as
    # the planner prefers. Ascending: SQLite reflects (and Alembic compares) no DESC.
    __table_args__ = (
        Index(
            "ix_concern_subject_rank",
            "zoo_id",
            "score",
            "max_severity",
            "subject_type",
            "subject_id",
        ),
    )

    zoo_id: int = Field(sa_column=_zoo_column(primary_key=True))
    subject_type: str = Field(max_length=16, primary_key=True)
    subject_id: int = Field(primary_key=True)
    score: int
    max_severity: int
    item: str  # ConcernItem's JSON


class DirtySubject(SQLModel, table=True):
    """A subject whose stored flags a write made stale, to evaluate again before a read; once
    however many writes mark it, so the table never outgrows the subjects."""

    __tablename__ = "concern_dirty"

    zoo_id: int = Field(sa_column=_zoo_column(primary_key=True))
    subject_type: str = Field(max_length=16, primary_key=True)
    subject_id: int = Field(primary_key=True)


class FlagsState(SQLModel, table=True):
    """When a zoo's stored flags were evaluated in full, and under which thresholds, with the
    zoo's totals as of its last update (the ranking's row); no row: never evaluated, or
    dropped by a write that is cheaper to answer with a full evaluation."""

    __tablename__ = "concern_state"

    zoo_id: int = Field(sa_column=_zoo_column(primary_key=True))
    evaluated_on: date
    fingerprint: str = Field(max_length=64)
    # The zoo's concern_version the totals were counted at: behind it, they are stale.
    version: int = 0
    evaluated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    flagged_animals: int = 0
    flagged_enclosures: int = 0
    total_score: int = 0
    max_severity: int = 0
    open_incidents: int = 0


class ConcernChange(SQLModel, table=True):
    """A flag raised or cleared when a zoo's stored flags were updated: the history of
    concern, published as concern.raised and concern.cleared events."""

    __tablename__ = "concern_change"
    __table_args__ = id_table_args(Index("ix_concern_change_zoo", "zoo_id", "id"))

    id: int | None = Field(default=None, primary_key=True)
    zoo_id: int = Field(sa_column=_zoo_column())
    at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(max_length=16)  # raised or cleared
    rule: str = Field(max_length=40)
    subject_type: str = Field(max_length=16)
    subject_id: int
    severity: int
    reason: str


class ConcernSnapshot(SQLModel, table=True):
    """A zoo's totals at the end of a day (today's: as of its last update)."""

    __tablename__ = "concern_snapshot"

    zoo_id: int = Field(sa_column=_zoo_column(primary_key=True))
    day: date = Field(primary_key=True)
    flagged_animals: int
    flagged_enclosures: int
    total_score: int
    max_severity: int
    open_incidents: int
