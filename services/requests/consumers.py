"""Kafka in: the tasking and availability outcomes the requests service follows."""

from functools import partial

from services.requests import handlers
from services.requests.domain import OUTCOMES
from shared.cloudevents import registered
from shared.events import AVAILABILITY_TOPIC, TASKING_TOPIC
from shared.kafka import BatchHandler, Handler
from shared.service import ServiceRuntime


def register_consumers(runtime: ServiceRuntime) -> None:
    """Every outcome event moves the request on and lands on its timeline; a run of one type in one transaction."""
    outcome = partial(handlers.record_outcome, uow=runtime.uow)
    outcomes = partial(handlers.record_outcomes, uow=runtime.uow)
    types = [full_type for full_type, model in registered().items() if model.event_type in OUTCOMES]
    handled: dict[str, Handler] = dict.fromkeys(types, outcome)
    batched: dict[str, BatchHandler] = dict.fromkeys(types, outcomes)
    runtime.consume(topics=[TASKING_TOPIC, AVAILABILITY_TOPIC], handlers=handled, batch_handlers=batched)
