"""Kafka in: requests to plan or drop, unit states and policies for the read model, and commit outcomes."""

from collections.abc import Awaitable, Callable
from functools import partial

from services.tasking import handlers
from services.tasking.deps import TaskingDeps
from shared.cloudevents import EventData
from shared.events import (
    AVAILABILITY_TOPIC,
    REQUESTS_TOPIC,
    CommitRejected,
    PolicyUpdated,
    RequestCancelled,
    RequestExtended,
    RequestSubmitted,
    UnitDeclared,
    UnitsCommitted,
    UnitsRecalled,
    UnitsReleased,
    UnitUpdated,
    UnitWithdrawn,
)
from shared.service import ServiceRuntime


def register_consumers(runtime: ServiceRuntime, deps: TaskingDeps) -> None:
    """One consumer group over the requests and availability topics; submissions and unit states in batches."""
    on: dict[type[EventData], Callable[..., Awaitable[None]]] = {
        RequestSubmitted: handlers.on_request_submitted,
        RequestCancelled: handlers.on_request_cancelled,
        RequestExtended: handlers.on_request_extended,
        UnitDeclared: handlers.on_unit_state,
        UnitUpdated: handlers.on_unit_state,
        UnitWithdrawn: handlers.on_unit_state,
        UnitsCommitted: handlers.on_units_committed,
        CommitRejected: handlers.on_commit_rejected,
        UnitsRecalled: handlers.on_units_recalled,
        UnitsReleased: handlers.on_units_released,
        PolicyUpdated: handlers.on_policy_updated,
    }
    batched: dict[type[EventData], Callable[..., Awaitable[None]]] = {
        RequestSubmitted: handlers.on_requests_submitted,
        UnitDeclared: handlers.on_unit_states,
        UnitUpdated: handlers.on_unit_states,
        UnitWithdrawn: handlers.on_unit_states,
    }
    runtime.consume(
        topics=[REQUESTS_TOPIC, AVAILABILITY_TOPIC],
        handlers={model.cloudevent_type(): partial(handler, deps=deps) for model, handler in on.items()},
        batch_handlers={model.cloudevent_type(): partial(handler, deps=deps) for model, handler in batched.items()},
    )
