"""How long a unit takes to get somewhere: by road, and across the sea by ferry where there is no road. No I/O.

Distances are in km, times in minutes. The road is the great-circle distance times a road factor,
driven at a convoy speed. Places on different land masses (Great Britain, the island of Ireland,
the Isle of Wight, Scilly, Orkney, Shetland, the Western Isles) are joined only by the ferry
crossings given (shared/reference/ferries.csv): the route is the quickest chain of road legs and
crossings, each crossing costing its sailing time plus a boarding allowance.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

EARTH_RADIUS_KM = 6371.0088
GREAT_BRITAIN = "great-britain"


@dataclass(frozen=True)
class Place:
    """A WGS84 point (degrees)."""

    lat: float
    lon: float


@dataclass(frozen=True)
class Leg:
    """A journey: km on the road, minutes door to door, and the crossings taken (by name, in order)."""

    distance_km: float
    minutes: float
    via: tuple[str, ...] = ()


Minutes = NDArray[np.float64]


class TravelModel(Protocol):
    """The journey between two places; a routing service could stand behind it."""

    def route(self, origin: Place, destination: Place) -> Leg: ...

    def minutes_between(self, origins: Sequence[Place], destinations: Sequence[Place]) -> Minutes:
        """Door-to-door minutes from every origin to every destination: shape (destinations, origins), inf unreachable.

        The same figures as `route(...).minutes`, worked out together: a planning run needs them
        for every unit and every request.
        """
        ...


@dataclass(frozen=True)
class GreatCircleTravel:
    """Great-circle distance times a road factor, driven at a convoy speed (km/h); no sea in between."""

    road_factor: float = 1.3
    convoy_speed_kmh: float = 80.0

    def distance_km(self, origin: Place, destination: Place) -> float:
        lat1, lon1, lat2, lon2 = map(math.radians, (origin.lat, origin.lon, destination.lat, destination.lon))
        a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a)) * self.road_factor

    def minutes(self, distance_km: float) -> float:
        return distance_km / self.convoy_speed_kmh * 60

    def route(self, origin: Place, destination: Place) -> Leg:
        distance = self.distance_km(origin, destination)
        return Leg(distance_km=distance, minutes=self.minutes(distance))

    def minutes_between(self, origins: Sequence[Place], destinations: Sequence[Place]) -> Minutes:
        """As route(...).minutes for every pair, in arrays: shape (destinations, origins)."""
        lat1, lon1 = _radians(origins)
        lat2, lon2 = (column[:, np.newaxis] for column in _radians(destinations))
        a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
        distance = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a)) * self.road_factor
        minutes: Minutes = distance / self.convoy_speed_kmh * 60
        return minutes


def minutes_by_route(travel: TravelModel, origins: Sequence[Place], destinations: Sequence[Place]) -> Minutes:
    """minutes_between for a model that only knows route: one journey at a time."""
    return np.array(
        [[travel.route(origin, destination).minutes for origin in origins] for destination in destinations],
        dtype=np.float64,
    ).reshape(len(destinations), len(origins))


def _radians(places: Sequence[Place]) -> tuple[Minutes, Minutes]:
    """Latitudes and longitudes of places, in radians."""
    table = np.radians(np.array([(place.lat, place.lon) for place in places], dtype=np.float64).reshape(-1, 2))
    return table[:, 0], table[:, 1]


@dataclass(frozen=True)
class Crossing:
    """A ferry route between two ports, either way, and its sailing time in minutes."""

    name: str
    one_end: Place
    other_end: Place
    minutes: float


@dataclass(frozen=True)
class Landmass:
    """Land that only a crossing reaches from Great Britain, as a polygon of (lat, lon) corners."""

    name: str
    corners: tuple[tuple[float, float], ...]

    def holds(self, place: Place) -> bool:
        """Ray casting: whether the place lies inside the polygon."""
        inside = False
        corners = self.corners
        for (lat1, lon1), (lat2, lon2) in zip(corners, corners[1:] + corners[:1], strict=True):
            if (lat1 > place.lat) != (lat2 > place.lat):
                lon_at = lon1 + (place.lat - lat1) / (lat2 - lat1) * (lon2 - lon1)
                if place.lon < lon_at:
                    inside = not inside
        return inside


Via = tuple[float, float, tuple[str, ...]]  # (minutes, km, crossings) of a journey between two ports


@dataclass(frozen=True)
class FerryAwareTravel:
    """Road travel on each land mass, and the quickest chain of ferry crossings between them.

    The quickest journey between every two ports is worked out once (Floyd-Warshall over the ports:
    road between ports on one land mass, sailings between); a journey by sea is then the road to a
    port of the origin's land mass, that port-to-port journey, and the road from a port of the
    destination's. The legs between a place and its ports are remembered: a planning run asks for
    the same bases and request locations many times.
    """

    road: GreatCircleTravel = field(default_factory=GreatCircleTravel)
    crossings: tuple[Crossing, ...] = ()
    landmasses: tuple[Landmass, ...] = ()
    boarding_minutes: float = 60.0
    _seen: dict[Place, str] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)
    _memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def landmass_of(self, place: Place) -> str:
        """The land mass a place is on (remembered: a planning run asks for the same bases many times)."""
        if place not in self._seen:
            self._seen[place] = next((land.name for land in self.landmasses if land.holds(place)), GREAT_BRITAIN)
        return self._seen[place]

    def route(self, origin: Place, destination: Place) -> Leg:
        if self.landmass_of(origin) == self.landmass_of(destination):
            return self.road.route(origin, destination)
        return self._by_sea(origin, destination)

    def minutes_between(self, origins: Sequence[Place], destinations: Sequence[Place]) -> Minutes:
        """The road between places on one land mass, and by sea between land masses, in arrays."""
        minutes = self.road.minutes_between(origins, destinations)
        starts = [self.landmass_of(origin) for origin in origins]
        ends = [self.landmass_of(destination) for destination in destinations]
        for start in set(starts):
            columns = [n for n, land in enumerate(starts) if land == start]
            for end in set(ends) - {start}:
                rows = [n for n, land in enumerate(ends) if land == end]
                by_sea = self._minutes_by_sea([origins[n] for n in columns], [destinations[n] for n in rows])
                minutes[np.ix_(rows, columns)] = by_sea
        return minutes

    def _minutes_by_sea(self, origins: Sequence[Place], destinations: Sequence[Place]) -> Minutes:
        """As _by_sea(...).minutes for origins on one land mass and destinations on another: (destinations, origins).

        The same sums in the same order, (road to a port + port to port) + road from a port, so the same
        figures to the last bit; the least over the ports of each side is taken in arrays.
        """
        leaving = [self._to_ports(origin) for origin in origins]
        arriving = [self._to_ports(destination) for destination in destinations]
        if not leaving[0] or not arriving[0]:
            return np.full((len(destinations), len(origins)), np.inf)
        between = self._between_ports()
        out = np.array([[leg.minutes for leg in legs.values()] for legs in leaving])  # (origins, their ports)
        sail = np.array([[between[p][q][0] for q in arriving[0]] for p in leaving[0]])  # (their ports, our ports)
        last = np.array([[leg.minutes for leg in legs.values()] for legs in arriving])  # (destinations, our ports)
        to_port = (out[:, :, np.newaxis] + sail[np.newaxis, :, :]).min(axis=1)  # (origins, our ports)
        by_sea: Minutes = (to_port[np.newaxis, :, :] + last[:, np.newaxis, :]).min(axis=2)
        return by_sea

    def _ports(self) -> list[Place]:
        return [end for crossing in self.crossings for end in (crossing.one_end, crossing.other_end)]

    def _between_ports(self) -> list[list[Via]]:
        """The quickest journey between every two ports (index as in _ports), computed once."""
        if "between" not in self._memo:
            ports = self._ports()
            n = len(ports)
            unreachable: Via = (math.inf, math.inf, ())
            best = [[(0.0, 0.0, ()) if i == j else unreachable for j in range(n)] for i in range(n)]
            for i in range(n):
                for j in range(n):
                    if i != j and self.landmass_of(ports[i]) == self.landmass_of(ports[j]):
                        leg = self.road.route(ports[i], ports[j])
                        best[i][j] = (leg.minutes, leg.distance_km, ())
            for index, crossing in enumerate(self.crossings):
                sailing = (crossing.minutes + self.boarding_minutes, 0.0, (crossing.name,))
                a, b = 2 * index, 2 * index + 1
                best[a][b] = min(best[a][b], sailing)
                best[b][a] = min(best[b][a], sailing)
            for k in range(n):
                for i in range(n):
                    for j in range(n):
                        through = best[i][k][0] + best[k][j][0]
                        if through < best[i][j][0]:
                            best[i][j] = (through, best[i][k][1] + best[k][j][1], best[i][k][2] + best[k][j][2])
            self._memo["between"] = best
        between: list[list[Via]] = self._memo["between"]
        return between

    def _to_ports(self, place: Place) -> dict[int, Leg]:
        """The road between a place and each port of its land mass (either way: the road is symmetric)."""
        key = ("ports", place)
        if key not in self._memo:
            land = self.landmass_of(place)
            self._memo[key] = {
                index: self.road.route(place, port)
                for index, port in enumerate(self._ports())
                if self.landmass_of(port) == land
            }
        legs: dict[int, Leg] = self._memo[key]
        return legs

    def _by_sea(self, origin: Place, destination: Place) -> Leg:
        between = self._between_ports()
        arrive = self._to_ports(destination)
        best = Leg(distance_km=math.inf, minutes=math.inf)  # no crossing joins them: unreachable
        for p, out in self._to_ports(origin).items():
            for q, last in arrive.items():
                minutes, km, via = between[p][q]
                total = out.minutes + minutes + last.minutes
                if total < best.minutes:
                    best = Leg(distance_km=out.distance_km + km + last.distance_km, minutes=total, via=via)
        return best


def travel_parameters(travel: TravelModel) -> dict[str, Any]:
    """The travel model as plain JSON, recorded with every planning run so that it can be replayed."""
    if isinstance(travel, FerryAwareTravel):
        return {
            "road_factor": travel.road.road_factor,
            "convoy_speed_kmh": travel.road.convoy_speed_kmh,
            "boarding_minutes": travel.boarding_minutes,
            "crossings": [
                [c.name, [c.one_end.lat, c.one_end.lon], [c.other_end.lat, c.other_end.lon], c.minutes]
                for c in travel.crossings
            ],
            "landmasses": {land.name: [list(corner) for corner in land.corners] for land in travel.landmasses},
        }
    if isinstance(travel, GreatCircleTravel):
        return {"road_factor": travel.road_factor, "convoy_speed_kmh": travel.convoy_speed_kmh}
    return {}


def travel_from(parameters: dict[str, Any]) -> TravelModel:
    """The travel model a planning run recorded (travel_parameters), for a replay."""
    road = GreatCircleTravel(road_factor=parameters["road_factor"], convoy_speed_kmh=parameters["convoy_speed_kmh"])
    if "crossings" not in parameters:
        return road
    return FerryAwareTravel(
        road=road,
        crossings=tuple(
            Crossing(name=name, one_end=Place(*one), other_end=Place(*other), minutes=minutes)
            for name, one, other, minutes in parameters["crossings"]
        ),
        landmasses=tuple(
            Landmass(name=name, corners=tuple((lat, lon) for lat, lon in corners))
            for name, corners in parameters["landmasses"].items()
        ),
        boarding_minutes=parameters["boarding_minutes"],
    )
