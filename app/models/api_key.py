"""ApiKey: who may write, in which role, and for which zoos. Only a hash of the secret is kept."""

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict
from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from app.models.base import NAME_MAX, InputSchema, UTCDateTime, enum_column, id_table_args, utcnow


class Role(StrEnum):
    """reporter < inspector < admin, each including the ones before it; zoo_representative
    stands apart: limited to exactly one zoo, it may reply to that zoo's incidents and do
    nothing else, and no other role includes it."""

    reporter = "reporter"
    inspector = "inspector"
    admin = "admin"
    zoo_representative = "zoo_representative"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def includes(self, other: "Role") -> bool:
        if Role.zoo_representative in (self, other):
            return self is other
        return self.rank >= other.rank


class ApiKeyBase(SQLModel):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    role: Role = Field(sa_type=enum_column(Role, "role"))
    zoo_ids: list[int] | None = Field(
        default=None,
        sa_type=JSON,
        description="The zoos this key is limited to; null means every zoo.",
    )
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiKey(ApiKeyBase, table=True):
    __tablename__ = "api_key"
    __table_args__ = id_table_args()

    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(max_length=16, unique=True)
    secret_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    def allows_zoo(self, zoo_id: int | None) -> bool:
        return self.zoo_ids is None or (zoo_id is not None and zoo_id in self.zoo_ids)


class ApiKeyCreate(InputSchema):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    role: Role
    zoos: list[str] | None = Field(
        default=None,
        max_length=1000,
        description="Ids or slugs of the zoos the key is limited to; omit for every zoo.",
    )
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Inspector for Pyongyang",
                    "role": "inspector",
                    "zoos": ["korea-central-zoo"],
                    "expires_in_days": 90,
                }
            ]
        }
    )


class ApiKeyPublic(ApiKeyBase):
    """A key as listed: never the secret, never its hash."""

    id: int
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The secret key. Shown once: store it now.")
