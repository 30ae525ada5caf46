"""Kafka in: approved taskings to commit and stand-downs to release."""

from functools import partial

from services.availability import handlers
from shared.events import TASKING_TOPIC, TaskingApproved, TaskingStoodDown
from shared.service import ServiceRuntime


def register_consumers(runtime: ServiceRuntime) -> None:
    """tasking.approved commits the units of the tasking, all or none; tasking.stood_down releases them."""
    runtime.consume(
        topics=[TASKING_TOPIC],
        handlers={
            TaskingApproved.cloudevent_type(): partial(handlers.commit_tasking, uow=runtime.uow),
            TaskingStoodDown.cloudevent_type(): partial(handlers.release_units, uow=runtime.uow),
        },
    )
