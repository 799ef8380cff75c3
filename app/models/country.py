"""Country: an ISO 3166-1 alpha-2 code, its name, and whether (and since when) it is a Party
to CITES. Keyed by its code; former codes (SU for the USSR, which the CITES trade data still
uses) are kept beside the current ones. Every row was written by migration 0017 from
pycountry; only `cites_party_since` and `source_url` change after (PATCH, admin).

What `cites_party_since` and `source_url` say together:
* a date: the Convention entered into force for the country on that day (a Party since);
* null, with a source: that source says the country is not a Party;
* null, without a source: not recorded (not known either way).
"""

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, ConfigDict
from sqlmodel import Field, SQLModel

from app.models.base import NAME_MAX, URL_MAX, InputSchema, PastDate, UTCDateTime, utcnow
from app.models.links import HttpUrlText

# The Convention entered into force on 1 July 1975 (its Article XXII); no country was a Party
# before.
CITES_IN_FORCE = date(1975, 7, 1)
# The Secretariat's list of Parties with the date the Convention entered into force for each.
CITES_PARTIES_SOURCE = "https://cites.org/eng/disc/parties/chronolo.php"

PARTY_SINCE_HELP = (
    "The day the Convention entered into force for the country. Null with a `source_url`: "
    "that source says it is not a Party. Null without one: not recorded."
)
SOURCE_HELP = "Where `cites_party_since` comes from (http or https); null when not recorded."


def _not_before_the_convention(value: date) -> date:
    if value < CITES_IN_FORCE:
        raise ValueError(
            "the Convention entered into force on 1975-07-01; no country was a Party before"
        )
    return value


PartySince = Annotated[PastDate, AfterValidator(_not_before_the_convention)]


class Country(SQLModel, table=True):
    code: str = Field(primary_key=True, min_length=2, max_length=2)
    name: str = Field(max_length=NAME_MAX)
    # A code no longer assigned (SU, YU, DD, ...): pycountry's historic countries.
    former: bool = False
    cites_party_since: date | None = None
    source_url: str | None = Field(default=None, max_length=URL_MAX)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CountryPublic(SQLModel):
    code: str = Field(description="ISO 3166-1 alpha-2, upper case.")
    name: str = Field(description="The ISO 3166-1 name, from pycountry.")
    former: bool = Field(description="A code no longer assigned (SU: the USSR).")
    cites_party_since: date | None = Field(description=PARTY_SINCE_HELP)
    source_url: str | None = Field(description=SOURCE_HELP)
    updated_at: datetime

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "code": "RU",
                    "name": "Russian Federation",
                    "former": False,
                    "cites_party_since": "1976-12-08",
                    "source_url": CITES_PARTIES_SOURCE,
                    "updated_at": "2026-12-03T07:00:00Z",
                },
                {
                    "code": "KP",
                    "name": "Korea, Democratic People's Republic of",
                    "former": False,
                    "cites_party_since": None,
                    "source_url": CITES_PARTIES_SOURCE,
                    "updated_at": "2026-12-03T07:00:00Z",
                },
            ]
        }
    }


class CountryUpdate(InputSchema):
    cites_party_since: PartySince | None = Field(
        default=None,
        description=f"{PARTY_SINCE_HELP} Not before 1975-07-01, nor in the future.",
    )
    source_url: HttpUrlText | None = Field(
        default=None, max_length=URL_MAX, description=SOURCE_HELP
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"cites_party_since": "1976-12-08", "source_url": CITES_PARTIES_SOURCE},
                {"cites_party_since": None, "source_url": CITES_PARTIES_SOURCE},
            ]
        }
    )
