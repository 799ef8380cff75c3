"""WelfareIncident: the triaged case that reports feed, and IncidentEvent, its audit trail."""

from datetime import datetime

from pydantic import ConfigDict, computed_field
from sqlalchemy import CheckConstraint, Index, text
from sqlmodel import Field, SQLModel

from app.models.api_key import Role
from app.models.base import (
    NAME_MAX,
    TEXT_MAX,
    InputSchema,
    UTCDateTime,
    enum_column,
    id_table_args,
    search_indexes,
    utcnow,
)
from app.models.enums import Category, EventKind, IncidentStatus

SEVERITY_DESCRIPTION = "1 minimal, 2 low, 3 moderate, 4 serious, 5 severe."

# The incident state machine's table (docs/contract.md); app/services/incidents.py is the
# only code that changes a status, and it reads these. A new incident starts here:
INITIAL_STATUS = IncidentStatus.reported
OPEN_STATUSES = (IncidentStatus.reported, IncidentStatus.under_review, IncidentStatus.confirmed)
# The partial indexes' predicate, as migration 0005 wrote it.
_OPEN_SQL = f"status IN ({', '.join(repr(s.value) for s in OPEN_STATUSES)})"
# A report about a closed incident (resolved or dismissed) moves it here, along the table.
REOPENED_STATUS = IncidentStatus.under_review

# The only allowed status changes.
TRANSITIONS: dict[IncidentStatus, tuple[IncidentStatus, ...]] = {
    IncidentStatus.reported: (
        IncidentStatus.under_review,
        IncidentStatus.confirmed,
        IncidentStatus.dismissed,
    ),
    IncidentStatus.under_review: (IncidentStatus.confirmed, IncidentStatus.dismissed),
    IncidentStatus.confirmed: (IncidentStatus.resolved,),
    IncidentStatus.resolved: (IncidentStatus.under_review,),
    IncidentStatus.dismissed: (IncidentStatus.under_review,),
}


class WelfareIncident(SQLModel, table=True):
    __tablename__ = "welfare_incident"
    __table_args__ = id_table_args(
        CheckConstraint("severity BETWEEN 1 AND 5", name="severity_range"),
        CheckConstraint("report_count >= 0", name="report_count_positive"),
        CheckConstraint("version >= 1", name="version_positive"),
        # Incident filters and the concern rules: by zoo and status (and severity, so a
        # list's count reads only what it counts), by subject, by time.
        Index("ix_welfare_incident_zoo_status_severity", "zoo_id", "status", "severity"),
        Index("ix_welfare_incident_animal_id_status", "animal_id", "status"),
        Index("ix_welfare_incident_enclosure_id_status", "enclosure_id", "status"),
        # The list's default order (most recently observed first, ties by id), from its cursor.
        Index("ix_welfare_incident_last_observed_at_id", "last_observed_at", "id"),
        # A zoo's list, most severe first: the page and its count read from the index.
        Index(
            "ix_welfare_incident_zoo_severity",
            "zoo_id",
            "severity",
            "last_observed_at",
            "id",
            "status",
        ),
        # Covering, partial indexes for the concern rule groups (index-only scans per zoo).
        Index(
            "ix_welfare_incident_open_animal",
            "zoo_id",
            "animal_id",
            "severity",
            "category",
            "status",
            "id",
            postgresql_where=text(f"{_OPEN_SQL} AND animal_id IS NOT NULL"),
            sqlite_where=text(f"{_OPEN_SQL} AND animal_id IS NOT NULL"),
        ),
        Index(
            "ix_welfare_incident_recent_animal",
            "zoo_id",
            "last_observed_at",
            "animal_id",
            "status",
            "id",
            postgresql_where=text("animal_id IS NOT NULL"),
            sqlite_where=text("animal_id IS NOT NULL"),
        ),
        Index(
            "ix_welfare_incident_open_enclosure",
            "zoo_id",
            "enclosure_id",
            "status",
            "severity",
            "id",
            postgresql_where=text(f"{_OPEN_SQL} AND animal_id IS NULL"),
            sqlite_where=text(f"{_OPEN_SQL} AND animal_id IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    zoo_id: int = Field(foreign_key="zoo.id")
    animal_id: int | None = Field(default=None, foreign_key="animal.id")
    enclosure_id: int | None = Field(default=None, foreign_key="enclosure.id")
    category: Category = Field(sa_type=enum_column(Category, "category"), index=True)
    severity: int = Field(ge=1, le=5, index=True)
    # Once an inspector sets the severity, new reports no longer raise it.
    severity_set_by_inspector: bool = False
    status: IncidentStatus = Field(
        default=INITIAL_STATUS, sa_type=enum_column(IncidentStatus, "incident_status")
    )
    title: str = Field(max_length=NAME_MAX)
    first_observed_at: datetime = Field(sa_type=UTCDateTime)
    last_observed_at: datetime = Field(sa_type=UTCDateTime)
    report_count: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = 1
    # The zoo's replies (app/models/reply.py): how many, and the latest one's time.
    reply_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_replied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def etag(self) -> str:
        return f'"{self.id}-{self.version}"'


search_indexes(WelfareIncident, "title")


class WelfareIncidentPublic(SQLModel):
    id: int
    zoo_id: int
    animal_id: int | None
    enclosure_id: int | None
    category: Category
    severity: int = Field(description=SEVERITY_DESCRIPTION)
    severity_set_by_inspector: bool
    status: IncidentStatus
    title: str
    first_observed_at: datetime
    last_observed_at: datetime
    report_count: int
    created_at: datetime
    updated_at: datetime
    version: int
    reply_count: int = Field(description="The zoo's replies so far (GET .../replies).")
    last_replied_at: datetime | None = Field(description="When the zoo last replied.")

    @computed_field(description="Whether the zoo has replied (GET .../replies).")  # type: ignore[prop-decorator]  # pydantic's documented form
    @property
    def replied(self) -> bool:
        return self.reply_count > 0


class WelfareIncidentUpdate(InputSchema):
    severity: int | None = Field(default=None, ge=1, le=5, description=SEVERITY_DESCRIPTION)
    title: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)

    model_config = ConfigDict(json_schema_extra={"examples": [{"severity": 5}]})


class TransitionRequest(InputSchema):
    to: IncidentStatus
    note: str | None = Field(default=None, max_length=TEXT_MAX)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"to": "confirmed", "note": "Photographed smoking by AP on 2016-10-19."}]
        }
    )


class IncidentEvent(SQLModel, table=True):
    __tablename__ = "incident_event"
    __table_args__ = id_table_args()

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="welfare_incident.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_key_id: int | None = Field(default=None, foreign_key="api_key.id")
    kind: EventKind = Field(sa_type=enum_column(EventKind, "event_kind"))
    from_status: IncidentStatus | None = Field(
        default=None, sa_type=enum_column(IncidentStatus, "event_from_status")
    )
    to_status: IncidentStatus | None = Field(
        default=None, sa_type=enum_column(IncidentStatus, "event_to_status")
    )
    from_severity: int | None = None
    to_severity: int | None = None
    report_id: int | None = Field(default=None, foreign_key="welfare_report.id")
    note: str | None = Field(default=None, max_length=TEXT_MAX)


class IncidentEventPublic(SQLModel):
    """An event of the audit trail. Who acted is shown as a role; the key's id only to admins
    and the zoo's inspectors, since it would link every report one reporter key filed."""

    id: int
    incident_id: int
    at: datetime
    actor_key_id: int | None = Field(
        description="The acting key: shown to admins and the zoo's inspectors, else null."
    )
    actor_role: Role | None = Field(
        description="The acting key's role; null for events without a key (system, seed)."
    )
    kind: EventKind
    from_status: IncidentStatus | None
    to_status: IncidentStatus | None
    from_severity: int | None
    to_severity: int | None
    report_id: int | None
    note: str | None
