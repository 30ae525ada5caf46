"""Value types shared by the HTTP and event contracts of every service."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from shared.forces import forces


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("in UTC this is beyond the last time that can be kept (9999-12-31)") from None


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""An RFC 3339 instant with its zone, kept and answered in UTC whatever offset the caller wrote."""


class Role(StrEnum):
    """What a caller may do (DESIGN.md, Security); carried as the `role` claim of a bearer token."""

    OPERATOR = "operator"
    RESOURCE_MANAGER = "resource_manager"
    COORDINATOR = "coordinator"
    NATIONAL_COORDINATOR = "national_coordinator"
    AUDITOR = "auditor"
    INTEGRATION = "integration"


class Capability(StrEnum):
    """Codes of the capability catalogue (shared/reference/capabilities.json describes each)."""

    PSU = "PSU"
    CTSFO = "CTSFO"
    AFO = "AFO"
    CBRN_T1 = "CBRN_T1"
    CBRN_T2 = "CBRN_T2"
    POM = "POM"
    POLSA = "POLSA"
    DOG = "DOG"
    MOUNTED = "MOUNTED"
    NEGOTIATOR = "NEGOTIATOR"
    DVI = "DVI"


class Priority(StrEnum):
    P1 = "P1"  # threat to life
    P2 = "P2"  # urgent
    P3 = "P3"  # planned


def _known_force(code: str) -> str:
    if code not in forces():
        raise ValueError(f"unknown force code {code!r}; see GET /v1/forces or reference/forces.csv")
    return code


ForceCode = Annotated[str, AfterValidator(_known_force), Field(examples=["west-midlands"])]


class GeoPoint(BaseModel):
    lat: float = Field(ge=49.0, le=61.0, description="WGS84 latitude (UK)")
    lon: float = Field(ge=-9.0, le=3.0, description="WGS84 longitude (UK)")
    description: str = Field("", max_length=200)


class CompositionLine(BaseModel):
    role: str = Field(min_length=1, max_length=100, examples=["sergeant"])
    count: int = Field(ge=1, le=500)


class Need(BaseModel):
    capability: Capability
    quantity: int = Field(ge=1, le=500)
    composition: list[CompositionLine] | None = Field(
        None,
        max_length=50,
        description="Overrides the catalogue's default composition of each unit for this request",
    )


class LendingScope(StrEnum):
    """How far a force allows a unit to be lent."""

    FORCE = "FORCE"  # not lent: kept for the force's own use
    REGION = "REGION"  # to forces of its own region
    NATIONAL = "NATIONAL"  # to any force


class Window(BaseModel):
    """A period in which a unit is available."""

    start: UtcDatetime
    end: UtcDatetime
