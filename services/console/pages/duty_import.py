"""Replace a force's whole declared set from a duty-system CSV file: a dry run first, then apply."""

from typing import Any

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from services.console.backend import Refused, path
from services.console.duty_csv import UnreadableFile, dry_run, read_units
from services.console.web import Person, ResourceManager, page
from shared.duty_file import UndecodableFile, decode

router = APIRouter()
CHANGED_MEANWHILE = "The force's units changed since the dry run: this is what the file would change now."
LIMIT = 2_000_000
"""The largest duty file read, in bytes: the dry run page sends it back whole when it is applied."""
TOO_LARGE = f"the file is larger than {LIMIT // 1_000_000} MB: split it, or ask for the service's own import"


@router.get("/duty-import", response_class=HTMLResponse)
async def upload_form(request: Request, me: ResourceManager) -> Response:
    """Choose the duty system's export (CSV) of the force's units."""
    return page(request, "duty_import.html", me.principal)


@router.post("/duty-import", response_class=HTMLResponse)
async def preview(request: Request, me: ResourceManager, file: UploadFile) -> Response:
    """The dry run: what applying the file would add, update and withdraw; nothing is sent to the service."""
    content = await file.read(LIMIT + 1)
    if len(content) > LIMIT:
        return page(request, "duty_import.html", me.principal, 413, problems=[TOO_LARGE], file_name=file.filename)
    try:
        text, _ = decode(content)  # UTF-8 (with or without its byte order mark) or Windows-1252
    except UndecodableFile as error:
        problem = f"line {error.line}: {error}"
        return page(request, "duty_import.html", me.principal, 422, problems=[problem], file_name=file.filename)
    return await _dry_run_page(request, me, text, name=file.filename or "the file")


async def _dry_run_page(
    request: Request, me: Person, text: str, *, name: str, status_code: int = 200, **context: Any
) -> Response:
    try:
        units, current = await _read_and_fetch(me, text)
    except UnreadableFile as unreadable:
        return page(request, "duty_import.html", me.principal, 422, problems=unreadable.problems, file_name=name)
    run = dry_run(units, current)
    return page(request, "duty_import.html", me.principal, status_code, run=run, text=text, file_name=name, **context)


async def _read_and_fetch(me: Person, text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The file's declarations and the force's units now; UnreadableFile when the file cannot be read."""
    units = read_units(text, force=me.principal.force or "")
    current = await me.backend.get("availability", "/v1/units", force=me.principal.force)
    return units, current["items"]


@router.post("/duty-import/apply", response_class=HTMLResponse)
async def apply(request: Request, me: ResourceManager) -> Response:
    """Apply the file the dry run showed, if the force's units have not moved on since: the service replaces
    the whole set in one transaction and answers with its own counts."""
    form = await request.form(max_fields=10, max_part_size=LIMIT)
    text, fingerprint, name = (str(form.get(field, "")) for field in ("text", "fingerprint", "name"))
    name = name or "the file"
    try:
        units, current = await _read_and_fetch(me, text)
    except UnreadableFile as unreadable:
        return page(request, "duty_import.html", me.principal, 422, problems=unreadable.problems, file_name=name)
    if dry_run(units, current).fingerprint() != fingerprint:
        return await _dry_run_page(request, me, text, name=name, status_code=409, error=CHANGED_MEANWHILE)
    try:
        result = await me.backend.put("availability", path("/v1/forces", me.principal.force, "units"), {"items": units})
    except Refused as refused:
        return await _dry_run_page(
            request, me, text, name=name, status_code=refused.status, error=refused.in_plain_words(), refused=True
        )
    return page(request, "duty_import.html", me.principal, result=result, file_name=name)
