"""Kafka in: approved taskings to commit."""

from functools import partial

from services.availability import handlers
from shared.events import TASKING_TOPIC, TaskingApproved
from shared.service import ServiceRuntime


def register_consumers(runtime: ServiceRuntime) -> None:
    """tasking.approved commits the units of the tasking, all or none."""
    runtime.consume(
        topics=[TASKING_TOPIC],
        handlers={TaskingApproved.cloudevent_type(): partial(handlers.commit_tasking, uow=runtime.uow)},
    )
