"""What a bulk import is asked and answers: the kinds of record it takes, and its counts."""

from enum import StrEnum

from sqlmodel import Field, SQLModel


class ImportKind(StrEnum):
    zoos = "zoos"
    species = "species"
    species_statuses = "species_statuses"  # their dated listings
    enclosures = "enclosures"
    gifts = "gifts"
    animals = "animals"


class ImportResult(SQLModel):
    kind: ImportKind
    dry_run: bool = Field(description="true: checked and counted, nothing written.")
    rows: int = Field(description="Data rows read.")
    created: int
    updated: int = Field(description="Rows matched by their natural key whose values changed.")
    unchanged: int

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "kind": "animals",
                    "dry_run": False,
                    "rows": 3,
                    "created": 2,
                    "updated": 1,
                    "unchanged": 0,
                }
            ]
        }
    }
