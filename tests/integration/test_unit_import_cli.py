"""`mutualaid units-import`: a CSV file replaces a force's declared set on the availability service."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mutualaid.cli import app, development_token
from mutualaid.unit_import import UnitsRefused, parse_units, put_force_units, summary
from services.availability.schemas import UnitReplacement
from shared.auth import Role
from shared.settings import CommonSettings
from tests.support.builders import bearer
from tests.support.services import RunningService, running_service

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "units.csv"
STAFFORDSHIRE = bearer(Role.RESOURCE_MANAGER, force="staffordshire")


@pytest.fixture
async def service(database_url: str, kafka: CommonSettings) -> AsyncIterator[RunningService]:
    async with running_service("availability", database_url=database_url, kafka=kafka) as running:
        yield running


def example(*, without: str | None = None, force: str = "staffordshire") -> UnitReplacement:
    """The example file, less the rows of one unit."""
    lines = [line for line in EXAMPLE.read_text().splitlines(keepends=True) if not without or without not in line]
    return parse_units("".join(lines), force=force)


async def status_of(service: RunningService, unit_id: str) -> str:
    response = await service.client.get(f"/v1/units/{unit_id}", headers=STAFFORDSHIRE)
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def test_the_example_file_declares_every_unit_with_its_windows(service: RunningService) -> None:
    token = development_token("staffordshire")
    result = await put_force_units(service.client, "staffordshire", example(), token=token)
    assert (result.declared, result.updated, result.unchanged, result.withdrawn, result.kept) == (5, 0, 0, 0, 0)
    psu = (await service.client.get("/v1/units/staffordshire-psu-2", headers=STAFFORDSHIRE)).json()
    assert [window["start"][:10] for window in psu["windows"]] == ["2026-12-01", "2027-01-02"]
    assert (psu["scope"], await status_of(service, "staffordshire-polsa-1")) == ("REGION", "UNAVAILABLE")
    again = await put_force_units(service.client, "staffordshire", example(), token=token)
    assert (again.declared, again.unchanged) == (0, 5)


async def test_a_second_import_without_a_unit_withdraws_it(service: RunningService) -> None:
    token = development_token("staffordshire")
    await put_force_units(service.client, "staffordshire", example(), token=token)
    result = await put_force_units(service.client, "staffordshire", example(without="staffordshire-dog-1"), token=token)
    assert (result.declared, result.updated, result.unchanged, result.withdrawn, result.kept) == (0, 0, 4, 1, 0)
    assert await status_of(service, "staffordshire-dog-1") == "WITHDRAWN"
    assert await status_of(service, "staffordshire-psu-1") == "AVAILABLE"


async def test_a_file_for_another_force_is_refused_with_the_problem_detail(service: RunningService) -> None:
    staffordshire = development_token("staffordshire")
    with pytest.raises(UnitsRefused) as outside_scope:
        await put_force_units(service.client, "warwickshire", example(force="warwickshire"), token=staffordshire)
    assert outside_scope.value.status == 403
    assert "cannot act for warwickshire" in outside_scope.value.detail
    with pytest.raises(UnitsRefused) as foreign_units:
        await put_force_units(service.client, "staffordshire", example(force="warwickshire"), token=staffordshire)
    assert foreign_units.value.status == 422
    assert "every unit must belong to staffordshire" in foreign_units.value.detail
    listed = await service.client.get("/v1/units?force=staffordshire", headers=STAFFORDSHIRE)
    assert listed.json()["items"] == []


async def test_a_dry_run_lists_what_the_file_would_change_and_changes_nothing(service: RunningService) -> None:
    token = development_token("staffordshire")
    await put_force_units(service.client, "staffordshire", example(), token=token)
    without_dog = example(without="staffordshire-dog-1")
    result = await put_force_units(service.client, "staffordshire", without_dog, token=token, dry_run=True)
    assert (result.declared, result.unchanged, result.withdrawn, result.dry_run) == (0, 4, 1, True)
    assert summary(result).splitlines() == [
        "staffordshire: 0 declared, 0 updated, 4 unchanged, 1 withdrawn, 0 kept as booked (dry run: nothing changed)",
        "  withdrawn  staffordshire-dog-1",
    ]
    assert await status_of(service, "staffordshire-dog-1") == "AVAILABLE"


def test_the_command_checks_the_example_file_without_sending_it() -> None:
    result = CliRunner().invoke(app, ["units-import", str(EXAMPLE), "--force", "staffordshire", "--check"])
    assert result.exit_code == 0, result.output
    assert "read 5 units for staffordshire" in result.output
    assert "nothing sent" in result.output


def test_the_command_names_the_bad_lines_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "units.csv"
    bad.write_text(EXAMPLE.read_text().replace("DOG,", "HORSE,"))
    result = CliRunner().invoke(app, ["units-import", str(bad), "--force", "staffordshire", "--check"])
    assert result.exit_code == 1
    assert "line 6, column capability: 'HORSE'" in result.output
