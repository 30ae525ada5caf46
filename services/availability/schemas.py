"""HTTP bodies of the availability service (v1 contract: extend, never rename)."""

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events import UnitStatus
from shared.vocabulary import Capability, ForceCode, GeoPoint

UNIT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class UnitBase(BaseModel):
    force: ForceCode
    capability: Capability
    base: GeoPoint
    readiness_minutes: int = Field(ge=0, le=7 * 24 * 60, description="Minutes to be ready to leave base")
    available_from: AwareDatetime
    available_until: AwareDatetime


class UnitDeclare(UnitBase):
    model_config = ConfigDict(extra="forbid")


class UnitPublic(UnitBase):
    unit_id: str
    region: str
    status: UnitStatus
    committed_to: str | None
    version: int
    updated_at: datetime


class UnitList(BaseModel):
    items: list[UnitPublic]
