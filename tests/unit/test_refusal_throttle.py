"""Which refused calls are recorded: a principal's first on each resource, a bounded number of them."""

from datetime import timedelta

from shared.refusals import RefusalThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_principal_refused_again_on_the_same_resource_is_recorded_once() -> None:
    throttle = RefusalThrottle(clock=Clock())
    answers = [throttle.first("op1", "POST /v1/proposals/p1/approve") for _ in range(200)]
    assert answers[0]
    assert answers.count(True) == 1


def test_each_principal_and_each_resource_is_recorded_once() -> None:
    throttle = RefusalThrottle(clock=Clock())
    assert throttle.first("op1", "GET /v1/requests/r1")
    assert throttle.first("op1", "GET /v1/requests/r2")
    assert throttle.first("op2", "GET /v1/requests/r1")
    assert not throttle.first("op2", "GET /v1/requests/r1")


def test_a_principal_refused_on_ever_new_resources_is_recorded_a_bounded_number_of_times() -> None:
    throttle = RefusalThrottle(per_principal=20, clock=Clock())
    recorded = [throttle.first("op1", f"GET /v1/requests/r{n}") for n in range(500)]
    assert recorded.count(True) == 20
    assert throttle.first("op2", "GET /v1/requests/r1")  # another principal has its own budget


def test_after_a_window_without_a_record_a_refusal_is_recorded_again() -> None:
    clock = Clock()
    throttle = RefusalThrottle(window=timedelta(hours=1), per_principal=1, clock=clock)
    assert throttle.first("op1", "GET /v1/requests/r1")
    assert not throttle.first("op1", "GET /v1/requests/r2")
    clock.now += 3601
    assert throttle.first("op1", "GET /v1/requests/r1")
