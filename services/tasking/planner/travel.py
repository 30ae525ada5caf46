"""How long a unit takes to get somewhere: by road, and across the sea by ferry where there is no road. No I/O.

Distances are in km, times in minutes. The road is the great-circle distance times a road factor,
driven at a convoy speed. Places on different land masses (Great Britain, the island of Ireland,
the Isle of Wight, Scilly, Orkney, Shetland, the Western Isles) are joined only by the ferry
crossings given (shared/reference/ferries.csv): the route is the quickest chain of road legs and
crossings, each crossing costing its sailing time plus a boarding allowance.
"""

import heapq
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

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


class TravelModel(Protocol):
    """The journey between two places; a routing service could stand behind it."""

    def route(self, origin: Place, destination: Place) -> Leg: ...


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


@dataclass(frozen=True)
class FerryAwareTravel:
    """Road travel on each land mass, and the quickest chain of ferry crossings between them."""

    road: GreatCircleTravel = field(default_factory=GreatCircleTravel)
    crossings: tuple[Crossing, ...] = ()
    landmasses: tuple[Landmass, ...] = ()
    boarding_minutes: float = 60.0
    _seen: dict[Place, str] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def landmass_of(self, place: Place) -> str:
        """The land mass a place is on (remembered: a planning run asks for the same bases many times)."""
        if place not in self._seen:
            self._seen[place] = next((land.name for land in self.landmasses if land.holds(place)), GREAT_BRITAIN)
        return self._seen[place]

    def route(self, origin: Place, destination: Place) -> Leg:
        if self.landmass_of(origin) == self.landmass_of(destination):
            return self.road.route(origin, destination)
        return self._by_sea(origin, destination)

    def _by_sea(self, origin: Place, destination: Place) -> Leg:
        """Dijkstra over the two places and every port: road between places on one land mass, ferries between."""
        nodes = [origin, destination, *(end for c in self.crossings for end in (c.one_end, c.other_end))]
        land = [self.landmass_of(node) for node in nodes]
        sailings = {}
        for index, crossing in enumerate(self.crossings):
            a, b = 2 + 2 * index, 3 + 2 * index
            sailings[(a, b)] = sailings[(b, a)] = crossing
        best: dict[int, tuple[float, float, tuple[str, ...]]] = {0: (0.0, 0.0, ())}
        queue: list[tuple[float, int]] = [(0.0, 0)]
        done: set[int] = set()
        while queue:
            minutes, node = heapq.heappop(queue)
            if node in done:
                continue
            done.add(node)
            if node == 1:
                _, distance, via = best[1]
                return Leg(distance_km=distance, minutes=minutes, via=via)
            _, distance, via = best[node]
            for other in range(len(nodes)):
                if other in done:
                    continue
                if (node, other) in sailings:
                    crossing = sailings[(node, other)]
                    step = Leg(0.0, crossing.minutes + self.boarding_minutes, (crossing.name,))
                elif land[node] == land[other]:
                    step = self.road.route(nodes[node], nodes[other])
                else:
                    continue
                total = minutes + step.minutes
                if other not in best or total < best[other][0]:
                    best[other] = (total, distance + step.distance_km, via + step.via)
                    heapq.heappush(queue, (total, other))
        return Leg(distance_km=math.inf, minutes=math.inf)  # no crossing joins them: unreachable


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
