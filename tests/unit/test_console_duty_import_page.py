"""The duty-import pages: a size limit said in words, large files applied, refusals not offered again."""

from services.console.duty_csv import dry_run, read_units
from shared.vocabulary import Role
from tests.support.console_fake import FakeServices, console

HEADER = "unit_id,capability,base_lat,base_lon,base_description,readiness_minutes,available_from,available_until"
WINDOW = "2026-12-01T00:00:00Z,2026-12-31T00:00:00Z"
UNITS = "/v1/forces/west-midlands/units"


def duty_file(units: int, place: str = "Birmingham Lloyd House HQ") -> str:
    rows = (f"west-midlands-psu-{n},PSU,52.48,-1.9,{place},60,{WINDOW}" for n in range(units))
    return "\n".join([HEADER, *rows]) + "\n"


def test_a_file_over_the_limit_is_refused_in_words() -> None:
    client = console(FakeServices(), role=Role.RESOURCE_MANAGER, force="west-midlands")
    answer = client.post("/duty-import", files={"file": ("big.csv", duty_file(30_000).encode(), "text/csv")})
    assert answer.status_code == 413
    assert "larger than 2 MB" in answer.text


def test_a_file_over_a_megabyte_is_applied() -> None:
    services = FakeServices().on("GET", "/v1/units", {"items": []})
    services.on("PUT", UNITS, {"declared": 5_000, "updated": 0, "unchanged": 0, "withdrawn": 0})
    client = console(services, role=Role.RESOURCE_MANAGER, force="west-midlands")
    text = duty_file(5_000, place="Birmingham Lloyd House HQ Colmore Circus Queensway " * 3)  # the most at once
    assert len(text) > 1_100_000
    fingerprint = dry_run(read_units(text, force="west-midlands"), []).fingerprint()
    answer = client.post("/duty-import/apply", data={"text": text, "fingerprint": fingerprint, "name": "big.csv"})
    assert answer.status_code == 200
    assert "declared 5000" in answer.text


def test_a_refused_apply_is_not_a_success_and_is_not_offered_again() -> None:
    services = FakeServices().on("GET", "/v1/units", {"items": []})
    services.on("PUT", UNITS, {"detail": "unit west-midlands-psu-0 is booked"}, status=409)
    client = console(services, role=Role.RESOURCE_MANAGER, force="west-midlands")
    text = duty_file(1)
    fingerprint = dry_run(read_units(text, force="west-midlands"), []).fingerprint()
    answer = client.post("/duty-import/apply", data={"text": text, "fingerprint": fingerprint})
    assert answer.status_code == 409
    assert "is booked" in answer.text
    assert "Apply these changes" not in answer.text


def test_a_spreadsheet_s_windows_1252_semicolon_file_with_uk_dates_is_shown_as_its_dry_run() -> None:
    services = FakeServices().on("GET", "/v1/units", {"items": []})
    client = console(services, role=Role.RESOURCE_MANAGER, force="west-midlands")
    rows = [
        HEADER.upper(),
        "west-midlands-psu-1,PSU,52.48,-1.9,Digbeth \u2013 Lloyd House,60,01/12/2026 08:00,31/12/2026",
        ",,,,,,,",
    ]
    data = "\r\n".join(row.replace(",", ";") for row in rows).encode("cp1252")
    answer = client.post("/duty-import", files={"file": ("export.csv", data, "text/csv")})
    assert answer.status_code == 200, answer.text
    assert "west-midlands-psu-1" in answer.text
    assert "Digbeth \u2013 Lloyd House" in answer.text


def test_a_file_in_no_known_encoding_is_refused_with_its_line() -> None:
    client = console(FakeServices(), role=Role.RESOURCE_MANAGER, force="west-midlands")
    data = (HEADER + "\nwest-midlands-psu-1,PSU,\x81").encode("latin-1")
    answer = client.post("/duty-import", files={"file": ("export.csv", data, "text/csv")})
    assert answer.status_code == 422
    assert "line 2: byte 0x81" in answer.text
