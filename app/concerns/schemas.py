"""Concern lists: flagged subjects with their reasons, zoo rankings and the published rules."""

from datetime import date as date_
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from app.concerns.rules import RULE_IDS

# Named enums (components RuleId, SubjectType): the values are the rules' ids and subjects.
RuleId = StrEnum("RuleId", {rule_id: rule_id for rule_id in RULE_IDS})  # type: ignore[misc]  # computed members


class Evidence(StrEnum):
    """How well a flag is founded, weakest first (app/concerns/evidence.py)."""

    reported = "reported"
    corroborated = "corroborated"
    confirmed = "confirmed"


class SubjectType(StrEnum):
    animal = "animal"
    enclosure = "enclosure"


class ConcernFlag(BaseModel):
    rule: RuleId = Field(examples=["human_imposed_behaviour"])
    severity: int = Field(ge=1, le=5, examples=[5])
    reason: str = Field(
        examples=[
            "an open human_interaction incident (a forced performance or an unnatural act "
            "trained for show): #1 \u201cChimpanzee Dallae trained to smoke\u201d"
        ]
    )
    incident_ids: list[int] = Field(default_factory=list, examples=[[1]])
    evidence: Evidence = Field(
        examples=["confirmed"],
        description="reported: one source; corroborated: reports from two or more distinct "
        "keys or accepted submissions; confirmed: an inspector confirmed the incident (or the "
        "flag comes from the registry's records).",
    )
    zoo_replied_at: datetime | None = Field(
        default=None, description="When the zoo last replied to the flag's incidents; null: never."
    )


class SpeciesRef(BaseModel):
    id: int
    common_name: str
    scientific_name: str


class EnclosureRef(BaseModel):
    id: int
    name: str


class ConcernItem(BaseModel):
    subject_type: SubjectType = Field(examples=["animal"], description="animal or enclosure")
    subject_id: int
    zoo_id: int
    name: str = Field(examples=["Dallae"])
    species: SpeciesRef | None = Field(default=None, description="For animals.")
    enclosure: EnclosureRef | None = Field(default=None, description="For animals.")
    score: int = Field(description="The sum of the flags' severities.")
    max_severity: int
    flags: list[ConcernFlag]


class ZooRef(BaseModel):
    id: int
    slug: str
    name: str
    country_code: str


class ZooConcernSummary(BaseModel):
    zoo: ZooRef
    flagged_animals: int
    flagged_enclosures: int
    total_score: int
    max_severity: int
    open_incidents: int
    evaluated_at: datetime | None = Field(
        description="When the zoo's figures were last brought up to date; null: never yet."
    )


class TimelineDay(BaseModel):
    date: date_
    flagged_animals: int
    flagged_enclosures: int
    total_score: int
    open_incidents: int


class Timeline(BaseModel):
    items: list[TimelineDay]


class ConcernRulePublic(BaseModel):
    id: str
    subject: str
    description: str
    thresholds: dict[str, Any]
