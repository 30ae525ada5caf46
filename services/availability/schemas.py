"""HTTP bodies of the availability service (v1 contract: extend, never rename)."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, Field, model_validator

from shared.catalogue import CapabilityEntry
from shared.events import BookingState, UnitStatus
from shared.vocabulary import (
    HAS_TEXT_PATTERN,
    MAX_COUNT,
    Capability,
    ForceCode,
    GeoPoint,
    GeoPointInput,
    Input,
    Instant,
    LendingScope,
    WholeNumber,
    Window,
    WindowInput,
)

UNIT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class UnitBase(BaseModel):
    force: ForceCode
    capability: Capability
    base: GeoPoint
    readiness_minutes: int = Field(ge=0, le=7 * 24 * 60, description="Minutes to be ready to leave base")
    scope: LendingScope = Field(LendingScope.NATIONAL, description="How far the force allows the unit to be lent")


class UnitDeclare(UnitBase, Input):
    """A declaration: one window (available_from and available_until) or several (windows)."""

    base: GeoPointInput
    readiness_minutes: WholeNumber = Field(ge=0, le=7 * 24 * 60, description="Minutes to be ready to leave base")
    available_from: Instant | None = None
    available_until: Instant | None = None
    windows: list[WindowInput] | None = Field(None, min_length=1, max_length=100)
    status: UnitStatus = Field(UnitStatus.AVAILABLE, description="AVAILABLE, UNAVAILABLE or WITHDRAWN")
    version: WholeNumber | None = Field(
        None, ge=1, description="The version this update is based on; refused with 412 if it is not the latest"
    )

    @model_validator(mode="after")
    def _one_way_to_give_windows(self) -> Self:
        pair = (self.available_from, self.available_until)
        if self.windows is not None and any(pair):
            raise ValueError("give either windows or available_from and available_until, not both")
        if self.windows is None and not all(pair):
            raise ValueError("give available_from and available_until, or windows")
        return self

    def availability(self) -> list[Window]:
        """The windows declared, as the domain and the table keep them (plain Windows, comparable with stored ones)."""
        if self.windows is not None:
            return [Window(start=window.start, end=window.end) for window in self.windows]
        assert self.available_from is not None
        assert self.available_until is not None
        return [Window(start=self.available_from, end=self.available_until)]


class UnitDeclareWithId(UnitDeclare):
    unit_id: str = Field(pattern=UNIT_ID_PATTERN)


class UnitPublic(UnitBase):
    unit_id: str
    region: str
    available_from: datetime
    available_until: datetime
    windows: list[Window]
    status: UnitStatus = Field(description="AVAILABLE, UNAVAILABLE or WITHDRAWN; COMMITTED while booked")
    committed_to: str | None = Field(description="The request of its earliest booking that has not ended")
    version: int
    updated_at: datetime
    bookings: list[BookingState] = Field(
        default_factory=list, description="Its bookings that have not ended: request, and from when to when (UTC)"
    )


class UnitList(BaseModel):
    items: list[UnitPublic]
    next: str | None = Field(None, description="Pass as `after` for the next page; null on the last page")


class UnitReplacement(Input):
    """A force's whole declared set, as a duty system exports it."""

    items: list[UnitDeclareWithId] = Field(max_length=5000)


class ReplacementOutcome(StrEnum):
    """What a replacement did (or, in a dry run, would do) to one unit."""

    DECLARED = "declared"  # new
    UPDATED = "updated"  # its declaration changed
    UNCHANGED = "unchanged"
    WITHDRAWN = "withdrawn"  # left out of the file
    KEPT = "kept"  # booked: kept as it is, whatever the file says


class UnitOutcome(BaseModel):
    unit_id: str
    outcome: ReplacementOutcome
    changed: list[str] = Field(default_factory=list, description="For an updated unit: the fields that changed")
    reason: str = Field("", description="For a kept unit: the booking that keeps it")


class ReplacementResult(BaseModel):
    force: str
    declared: int = Field(description="New units")
    updated: int = Field(description="Units whose declaration changed")
    unchanged: int
    withdrawn: int = Field(description="Units no longer in the set")
    kept: int = Field(0, description="Booked units kept as they are, whatever the file said of them")
    dry_run: bool = Field(False, description="True: nothing was changed; the counts say what applying would do")
    units: list[UnitOutcome] = Field(default_factory=list, description="Each unit of the file or of the force")


class Recall(Input):
    reason: str = Field(min_length=1, max_length=2000, pattern=HAS_TEXT_PATTERN)


Count = Annotated[WholeNumber, Field(le=MAX_COUNT)]


class PolicyBody(Input):
    reserve: dict[Capability, Count] = Field(default_factory=dict, description="Units per capability to keep at home")
    national_commitment: dict[Capability, Count] = Field(
        default_factory=dict, description="Strategic Policing Requirement contribution per capability"
    )

    @model_validator(mode="after")
    def _no_negative_counts(self) -> Self:
        for name, counts in (("reserve", self.reserve), ("national_commitment", self.national_commitment)):
            negative = [c.value for c, n in counts.items() if n < 0]
            if negative:
                raise ValueError(f"{name} cannot be negative: {', '.join(negative)}")
        return self


class PolicyPublic(PolicyBody):
    force: str
    version: int
    updated_by: str
    updated_at: datetime | None


class CapacityItem(BaseModel):
    capability: Capability
    declared: int
    available: int
    committed: int
    reserve: int
    lendable: int
    national_commitment: int
    commitment_met: bool


class ForceCapacity(BaseModel):
    force: str
    region: str
    items: list[CapacityItem]


class CapacityView(BaseModel):
    """Capacity by force in a region (or the nation), with totals per capability."""

    region: str | None = Field(description="The region asked for; null for the national picture")
    forces: list[ForceCapacity]
    summary: list[CapacityItem]


class CapabilityList(BaseModel):
    version: str
    items: list[CapabilityEntry]


class ForceEntry(BaseModel):
    """A force that takes part in mutual aid (shared/reference/forces.csv)."""

    code: str = Field(examples=["west-midlands"])
    name: str
    region: str = Field(description="Its mutual aid region; national forces and those outside England and Wales too")
    headquarters: GeoPoint


class ForceList(BaseModel):
    items: list[ForceEntry]
