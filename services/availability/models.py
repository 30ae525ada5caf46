"""Tables of the availability service."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Integer
from sqlmodel import Field, SQLModel

from services.availability.domain import Booking, ForcePolicy, UnitSnapshot, status_at
from shared.db import UTCDateTime, empty_dict, empty_list, enum_column, json_column
from shared.events import BookingState, UnitState, UnitStatus
from shared.messaging import utcnow
from shared.vocabulary import Capability, LendingScope, Window

# Every UPDATE of a unit says "WHERE version = <the version read>": a concurrent change makes it fail
# (StaleDataError) instead of being overwritten, on SQLite too, where SELECT ... FOR UPDATE does nothing.
_UNIT_VERSION = Column("version", Integer, nullable=False)


class Unit(SQLModel, table=True):
    """A unit a force declared it can lend: status is what the force declared; bookings say when it is lent."""

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
    windows: list[Window] = Field(default_factory=empty_list, sa_column=json_column(list[Window]))
    scope: LendingScope = Field(default=LendingScope.NATIONAL, sa_column=enum_column(LendingScope))
    status: UnitStatus = Field(default=UnitStatus.AVAILABLE, sa_column=enum_column(UnitStatus, index=True))
    version: int = Field(default=1, sa_column=_UNIT_VERSION)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))

    def availability(self) -> list[Window]:
        """The unit's windows; a row from before windows existed has only its from and until."""
        return list(self.windows) or [Window(start=self.available_from, end=self.available_until)]

    def state(self, bookings: list["BookingRow"], now: datetime) -> UnitState:
        """The full state of the unit as every availability event carries it, at `now` (UTC)."""
        snapshot = self.snapshot(bookings)
        status, committed_to = status_at(snapshot, now)
        live = sorted((b for b in bookings if b.end > now), key=lambda b: (b.start, b.request_id))
        return UnitState.model_validate(
            {
                **self.model_dump(),
                "base": {"lat": self.base_lat, "lon": self.base_lon, "description": self.base_description},
                "windows": self.availability(),
                "status": status,
                "committed_to": committed_to,
                "declared": self.status,
                "bookings": [BookingState(request_id=b.request_id, start=b.start, end=b.end) for b in live],
            }
        )

    def snapshot(self, bookings: list["BookingRow"]) -> UnitSnapshot:
        """The unit as the pure commit rules see it, with its bookings."""
        return UnitSnapshot(
            unit_id=self.unit_id,
            force=self.force,
            region=self.region,
            capability=self.capability,
            status=self.status,
            windows=self.availability(),
            scope=self.scope,
            bookings=tuple(booking.booking() for booking in bookings),
        )

    def changed(self, *, status: UnitStatus | None = None) -> None:
        """Booked, released or recalled (and made UNAVAILABLE): a new version."""
        if status is not None:
            self.status = status
        self.version += 1
        self.updated_at = utcnow()


class BookingRow(SQLModel, table=True):
    """A unit booked for a request: from leaving base until back (UTC, travel included)."""

    __tablename__ = "booking"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: str = Field(index=True, max_length=64)
    request_id: str = Field(index=True, max_length=36)
    proposal_id: str = Field(default="", max_length=36)
    host_force: str = Field(index=True, max_length=64, description="The force the unit is lent to")
    start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    end: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))

    def booking(self, *, capability: Capability | None = None) -> Booking:
        """The booking as the pure rules see it (with the unit's capability where a rule needs it)."""
        return Booking(
            unit_id=self.unit_id,
            request_id=self.request_id,
            host_force=self.host_force,
            start=self.start,
            end=self.end,
            capability=capability,
        )


@dataclass
class BookedUnit:
    """A unit with its bookings: what the API and the events show of it."""

    unit: Unit
    bookings: list[BookingRow]

    def state(self, now: datetime) -> UnitState:
        return self.unit.state(self.bookings, now)

    def snapshot(self) -> UnitSnapshot:
        return self.unit.snapshot(self.bookings)


class ForcePolicyRow(SQLModel, table=True):
    """A force's business-as-usual reserve and national commitment per capability; locked while committing."""

    __tablename__ = "force_policy"

    force: str = Field(primary_key=True, max_length=64)
    reserve: dict[Capability, int] = Field(default_factory=empty_dict, sa_column=json_column(dict[Capability, int]))
    national_commitment: dict[Capability, int] = Field(
        default_factory=empty_dict, sa_column=json_column(dict[Capability, int])
    )
    version: int = 1
    updated_by: str = Field(default="", max_length=200)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))

    def policy(self) -> ForcePolicy:
        """The policy as the pure reserve rules see it."""
        return ForcePolicy(reserve=dict(self.reserve), national_commitment=dict(self.national_commitment))


OWN_TABLES = frozenset({"unit", "force_policy", "booking"})
