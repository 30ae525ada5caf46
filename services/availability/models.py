"""Tables of the availability service."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Integer
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime, enum_column
from shared.events import UnitStatus
from shared.messaging import utcnow
from shared.vocabulary import Capability, LendingScope

# Every UPDATE of a unit says "WHERE version = <the version read>": a concurrent change makes it fail
# (StaleDataError) instead of being overwritten, on SQLite too, where SELECT ... FOR UPDATE does nothing.
_UNIT_VERSION = Column("version", Integer, nullable=False)


class Unit(SQLModel, table=True):
    """A unit a force declared it can lend, and whether it is committed."""

    __tablename__ = "unit"
    __mapper_args__ = {"version_id_col": _UNIT_VERSION, "version_id_generator": False}

    unit_id: str = Field(primary_key=True, max_length=64)
    force: str = Field(index=True, max_length=64)
    region: str = Field(max_length=64)
    capability: Capability = Field(sa_column=enum_column(Capability, index=True))
    base_lat: float
    base_lon: float
    base_description: str = Field(default="", max_length=200)
    readiness_minutes: int
    available_from: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    available_until: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    windows: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scope: LendingScope = Field(default=LendingScope.NATIONAL, sa_column=enum_column(LendingScope))
    status: UnitStatus = Field(default=UnitStatus.AVAILABLE, sa_column=enum_column(UnitStatus, index=True))
    committed_to: str | None = Field(default=None, max_length=36)
    version: int = Field(default=1, sa_column=_UNIT_VERSION)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ForcePolicyRow(SQLModel, table=True):
    """A force's business-as-usual reserve and national commitment per capability; locked while committing."""

    __tablename__ = "force_policy"

    force: str = Field(primary_key=True, max_length=64)
    reserve: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    national_commitment: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 1
    updated_by: str = Field(default="", max_length=200)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


OWN_TABLES = frozenset({"unit", "force_policy"})
