"""Gift: an origin transfer (often diplomatic) that brought animals to a zoo."""

from datetime import date, datetime

from pydantic import ConfigDict
from sqlmodel import Field, SQLModel

from app.models.base import (
    ID_MAX,
    NAME_MAX,
    TEXT_MAX,
    URL_MAX,
    CountryCode,
    InputSchema,
    PastDate,
    UTCDateTime,
    id_table_args,
    reject_explicit_null,
    search_indexes,
    utcnow,
)
from app.models.links import HttpUrlText


class GiftBase(SQLModel):
    title: str = Field(min_length=1, max_length=NAME_MAX)
    donor_name: str = Field(min_length=1, max_length=NAME_MAX)
    donor_country: str = Field(min_length=2, max_length=2, index=True)
    recipient_name: str = Field(min_length=1, max_length=NAME_MAX)
    recipient_country: str = Field(min_length=2, max_length=2, index=True)
    delivered_on: date | None = Field(default=None, index=True)
    occasion: str | None = Field(default=None, max_length=TEXT_MAX)
    transport: str | None = Field(default=None, max_length=TEXT_MAX)
    cites_permit_ref: str | None = Field(default=None, max_length=NAME_MAX)
    source_url: str | None = Field(default=None, max_length=URL_MAX)
    notes: str | None = Field(default=None, max_length=TEXT_MAX)


class Gift(GiftBase, table=True):
    __table_args__ = id_table_args()

    id: int | None = Field(default=None, primary_key=True)
    recipient_zoo_id: int | None = Field(default=None, foreign_key="zoo.id", index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


search_indexes(Gift, "title", "donor_name", "recipient_name", "occasion")


class GiftCreate(GiftBase, InputSchema):
    donor_country: CountryCode = Field(min_length=2, max_length=2)
    recipient_country: CountryCode = Field(min_length=2, max_length=2)
    recipient_zoo_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    delivered_on: PastDate | None = None
    source_url: HttpUrlText | None = Field(default=None, max_length=URL_MAX)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "title": "November 2024 gift of 75 animals",
                    "donor_name": "Vladimir Putin",
                    "donor_country": "RU",
                    "recipient_name": "Kim Jong Un",
                    "recipient_country": "KP",
                    "recipient_zoo_id": 1,
                    "delivered_on": "2024-11-20",
                    "occasion": "Thanks for North Korean troops sent to Russia",
                    "transport": "Cargo plane from Moscow Zoo, with its veterinarians",
                    "cites_permit_ref": None,
                    "source_url": "https://www.reuters.com/",
                }
            ]
        }
    }


class GiftUpdate(InputSchema):
    title: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    donor_name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    donor_country: CountryCode | None = Field(default=None, min_length=2, max_length=2)
    recipient_name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    recipient_country: CountryCode | None = Field(default=None, min_length=2, max_length=2)
    recipient_zoo_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    delivered_on: PastDate | None = None
    occasion: str | None = Field(default=None, max_length=TEXT_MAX)
    transport: str | None = Field(default=None, max_length=TEXT_MAX)
    cites_permit_ref: str | None = Field(default=None, max_length=NAME_MAX)
    source_url: HttpUrlText | None = Field(default=None, max_length=URL_MAX)
    notes: str | None = Field(default=None, max_length=TEXT_MAX)

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"cites_permit_ref": "RU-2024-1120-0042"}]}
    )

    _not_null = reject_explicit_null(
        "title", "donor_name", "donor_country", "recipient_name", "recipient_country"
    )


class GiftPublic(GiftBase):
    id: int
    recipient_zoo_id: int | None
    updated_at: datetime
