"""Value types shared by the HTTP and event contracts of every service."""

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from shared.forces import forces


class Capability(StrEnum):
    PSU = "PSU"
    CTSFO = "CTSFO"
    AFO = "AFO"
    CBRN_T1 = "CBRN_T1"
    CBRN_T2 = "CBRN_T2"


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


class Need(BaseModel):
    capability: Capability
    quantity: int = Field(ge=1, le=500)
