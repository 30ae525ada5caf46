"""Kafka in: submitted requests to plan, unit states for the read model, and commit outcomes."""

from functools import partial

from services.tasking import handlers
from shared.events import (
    AVAILABILITY_TOPIC,
    REQUESTS_TOPIC,
    CommitRejected,
    PolicyUpdated,
    RequestSubmitted,
    UnitDeclared,
    UnitsCommitted,
    UnitsRecalled,
    UnitsReleased,
    UnitUpdated,
    UnitWithdrawn,
)
from shared.service import ServiceRuntime


def register_consumers(runtime: ServiceRuntime, deps: handlers.Deps) -> None:
    """One consumer group over the requests and availability topics."""
    runtime.consume(
        topics=[REQUESTS_TOPIC, AVAILABILITY_TOPIC],
        handlers={
            RequestSubmitted.cloudevent_type(): partial(handlers.on_request_submitted, deps=deps),
            UnitDeclared.cloudevent_type(): partial(handlers.on_unit_state, deps=deps),
            UnitUpdated.cloudevent_type(): partial(handlers.on_unit_state, deps=deps),
            UnitWithdrawn.cloudevent_type(): partial(handlers.on_unit_state, deps=deps),
            UnitsCommitted.cloudevent_type(): partial(handlers.on_units_committed, deps=deps),
            UnitsRecalled.cloudevent_type(): partial(handlers.on_units_moved, deps=deps),
            UnitsReleased.cloudevent_type(): partial(handlers.on_units_moved, deps=deps),
            PolicyUpdated.cloudevent_type(): partial(handlers.on_policy_updated, deps=deps),
            CommitRejected.cloudevent_type(): partial(handlers.on_commit_rejected, deps=deps),
        },
    )
