"""All-or-nothing commit rules of the availability service."""

from datetime import UTC, datetime, timedelta

import pytest

from services.availability.domain import UnitSnapshot, check_window, commit_failures
from shared.errors import InvalidInput
from shared.events import UnitStatus

START = datetime(2026, 12, 1, 14, tzinfo=UTC)
END = START + timedelta(days=3)


def unit(unit_id: str, status: UnitStatus = UnitStatus.AVAILABLE, **overrides: object) -> UnitSnapshot:
    values: dict[str, object] = {
        "unit_id": unit_id,
        "status": status,
        "available_from": START - timedelta(days=1),
        "available_until": END + timedelta(days=1),
    }
    return UnitSnapshot(**(values | overrides))  # type: ignore[arg-type]


def test_available_units_whose_window_covers_the_period_commit() -> None:
    units = {"a": unit("a"), "b": unit("b")}
    assert commit_failures(["a", "b"], units, start=START, end=END) == []


def test_each_failing_unit_is_named_with_its_rule() -> None:
    units = {
        "taken": unit("taken", UnitStatus.COMMITTED, committed_to="req-1"),
        "short": unit("short", available_until=END - timedelta(hours=1)),
        "ok": unit("ok"),
    }
    failures = commit_failures(["taken", "short", "ghost", "ok"], units, start=START, end=END)
    assert [(f.unit_id, f.rule) for f in failures] == [("taken", "available"), ("short", "window"), ("ghost", "exists")]
    assert failures[0].reason == "unit is COMMITTED to req-1"


def test_a_unit_named_twice_in_one_tasking_is_refused() -> None:
    assert [f.rule for f in commit_failures(["a", "a"], {"a": unit("a")}, start=START, end=END)] == ["distinct"]


def test_a_window_must_end_after_it_starts() -> None:
    with pytest.raises(InvalidInput):
        check_window(START, START)
