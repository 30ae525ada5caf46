"""What tasking's commands, event handlers and planning runs are given by the composition root."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from services.tasking.domain import TOUR_LENGTH
from services.tasking.planner.problem import Planner, TravelModel
from services.tasking.readmodel import PlanningReads
from shared.db import SessionFactory
from shared.messaging import UowFactory, utcnow


@dataclass(frozen=True)
class TaskingDeps:
    """The tasking service's dependencies, typed: built once in bootstrap, passed to every command and handler.

    uow: a new unit of work (state, outbox and inbox commit together); sessions: read-only sessions;
    travel and planner: how plans are made; wake_planning: ask for a planning run soon (after the
    batching window); clock: the current time (UTC), read here and passed into the domain;
    planning_lock: one planning run at a time in this process (services.tasking.planning);
    tour_length: how long one unit serves a long request before another relieves it; reads: what the
    last planning run read, so that the next loads only what changed (services.tasking.readmodel);
    audit_archive: the file of audit checkpoints this process keeps, if any (services.tasking.audit_archive).
    """

    uow: UowFactory
    sessions: SessionFactory
    travel: TravelModel
    planner: Planner
    wake_planning: Callable[[], None] = lambda: None
    clock: Callable[[], datetime] = field(default=utcnow)
    planning_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    tour_length: timedelta = TOUR_LENGTH
    reads: PlanningReads = field(default_factory=PlanningReads)
    audit_archive: Path | None = None
