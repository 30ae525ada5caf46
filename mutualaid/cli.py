"""The `mutualaid` command: run the system, the embedded broker, tokens, contracts, unit imports."""

import asyncio
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shared import auth
from shared.auth import Role
from shared.broker import TANSU, EmbeddedBroker
from shared.settings import CommonSettings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from services.availability.schemas import ReplacementResult, UnitReplacement
    from services.tasking.audit import Checkpoint

app = typer.Typer(help="Police mutual aid coordination platform.", no_args_is_help=True, add_completion=False)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@app.command()
def broker(port: Annotated[int, typer.Option(help="Port to listen on")] = 9092) -> None:
    """Run the embedded Kafka-compatible broker (Tansu, memory storage) until Ctrl-C."""
    with EmbeddedBroker(port) as running:
        typer.echo(f"embedded broker ready on {running.bootstrap_servers} (Ctrl-C stops it)")
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            signal.pause()
        except KeyboardInterrupt:
            typer.echo("stopping broker")


@app.command()
def token(
    role: Annotated[Role, typer.Option(help="The caller's role")],
    force: Annotated[str | None, typer.Option(help="Force code the caller acts for")] = None,
    region: Annotated[str | None, typer.Option(help="Region the caller coordinates")] = None,
    sub: Annotated[str | None, typer.Option(help="Subject (who); defaults to role@force-or-region")] = None,
    hours: Annotated[int, typer.Option(help="Hours until it expires")] = 12,
) -> None:
    """Print a development bearer token signed with the configured key."""
    from datetime import timedelta

    from shared.forces import forces, regions

    if force is not None and force not in forces():
        raise typer.BadParameter(f"unknown force {force!r}", param_hint="--force")
    if region is not None and region not in regions():
        raise typer.BadParameter(f"unknown region {region!r}; one of: {', '.join(regions())}", param_hint="--region")
    if role in auth.FORCE_ROLES and force is None:
        raise typer.BadParameter(f"a {role.value} acts for a force: name it", param_hint="--force")
    if role is Role.COORDINATOR and region is None:
        raise typer.BadParameter("a coordinator coordinates a region: name it", param_hint="--region")
    subject = sub or f"{role.value}@{force or region or 'national'}"
    try:
        token = auth.development_token(
            CommonSettings(), sub=subject, role=role, force=force, region=region, ttl=timedelta(hours=hours)
        )
    except ValueError as error:
        typer.echo(f"mutualaid token: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(token)


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="requests, availability, tasking or console")],
    port: Annotated[int | None, typer.Option(help="Port; defaults to the service's setting")] = None,
    host: str = "127.0.0.1",
) -> None:
    """Run one service (HTTP and its Kafka consumers) in the foreground."""
    import uvicorn

    from mutualaid.preflight import StartupError, load_settings
    from mutualaid.services import APPS, bootstrap, create_app
    from shared import logs, tracing

    if service not in APPS:
        raise typer.BadParameter(f"one of: {', '.join(APPS)}", param_hint="SERVICE")
    try:
        settings = load_settings(bootstrap(service).Settings)
        tracing.wanted()  # an exporter or protocol not installed is refused before anything starts
    except (StartupError, tracing.NotInstalled) as error:
        typer.echo(f"mutualaid serve {service}: {error}", err=True)
        raise typer.Exit(1) from None
    logs.configure(service=service, log_format=settings.log_format, level=settings.log_level)
    tracing.configure(service)
    app = create_app(service, settings)  # after tracing.configure: its HTTP requests get server spans
    # uvicorn's own lines through the handler above; its access log off (shared.web logs each request)
    uvicorn.run(app, host=host, port=port or settings.port, log_config=None, log_level="warning", access_log=False)


@app.command()
def run(
    state_dir: Annotated[
        Path, typer.Option(envvar="MUTUALAID_STATE_DIR", help="Where the SQLite databases are kept between runs")
    ] = Path("var"),
    reset: Annotated[bool, typer.Option("--reset", help="Delete the state of earlier runs and start empty")] = False,
    broker_port: Annotated[int, typer.Option(help="Embedded broker port")] = 9092,
    broker_binary: Annotated[
        Path, typer.Option(envvar="MUTUALAID_BROKER_BINARY", help="The embedded broker (Tansu) executable")
    ] = TANSU,
    demo: Annotated[bool, typer.Option(help="Declare the West Midlands demo units that are not declared yet")] = True,
) -> None:
    """Run the whole system: embedded broker and the three services on SQLite, until Ctrl-C."""
    from mutualaid.preflight import StartupError
    from mutualaid.runner import RunOptions, run_forever
    from mutualaid.supervisor import GaveUp

    options = RunOptions(
        state_dir=state_dir, broker_port=broker_port, broker_binary=broker_binary, reset=reset, demo=demo
    )
    try:
        asyncio.run(run_forever(options))
    except (StartupError, GaveUp) as error:
        typer.echo(f"mutualaid run: {error}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:  # Ctrl-C before the run could take signals over: nothing was started
        typer.echo("mutualaid run: stopped", err=True)
        raise typer.Exit(130) from None


@app.command()
def contracts(
    check: Annotated[bool, typer.Option(help="Fail if contracts/ differs from the code")] = False,
) -> None:
    """Write OpenAPI, AsyncAPI and event JSON Schemas into contracts/ (or check them)."""
    from mutualaid.contracts import CONTRACTS_DIR, render, stale

    if check:
        drifted = stale()
        if drifted:
            typer.echo("contracts drifted from the code; run `mutualaid contracts`: " + ", ".join(drifted), err=True)
            raise typer.Exit(1)
        typer.echo("contracts match the code")
        return
    for path, text in render().items():
        target = CONTRACTS_DIR / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    typer.echo(f"contracts written to {CONTRACTS_DIR}")


@app.command("units-import")
def units_import(
    csv_file: Annotated[
        Path, typer.Argument(help="CSV of the force's units (docs/examples/units.csv)", exists=True, dir_okay=False)
    ],
    force: Annotated[str, typer.Option(help="Force code whose whole declared set the file replaces")],
    url: Annotated[str, typer.Option(help="Base URL of the availability service")] = "http://127.0.0.1:8002",
    token: Annotated[
        str | None, typer.Option(help="Bearer token; defaults to a development token of the force's resource manager")
    ] = None,
    check: Annotated[bool, typer.Option("--check", help="Only read and check the file; send nothing")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Ask the service what the file would change; change nothing")
    ] = False,
) -> None:
    """Replace a force's declared units with those of a CSV file: units left out are withdrawn, units booked now
    are kept as they are. Prints what happened to each unit withdrawn, kept or updated."""
    from mutualaid.unit_import import UnitImportError, parse_units
    from shared.forces import forces

    if force not in forces():
        raise typer.BadParameter(f"unknown force {force!r}", param_hint="--force")
    try:
        replacement = parse_units(csv_file.read_bytes(), force=force)
    except UnitImportError as error:
        typer.echo(f"{csv_file}: not imported\n{error}", err=True)
        raise typer.Exit(1) from None
    if check:
        typer.echo(f"read {len(replacement.items)} units for {force} from {csv_file}; nothing sent (--check)")
        return
    from mutualaid.unit_import import summary

    token = token or development_token(force)
    typer.echo(summary(asyncio.run(_send_units(url, force, replacement, token=token, dry_run=dry_run))))


async def _send_units(
    url: str, force: str, replacement: "UnitReplacement", *, token: str, dry_run: bool
) -> "ReplacementResult":
    """PUT the units to the service at url; an HTTP error or an unreachable service ends the command."""
    import httpx

    from mutualaid.unit_import import UnitsRefused, put_force_units

    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            return await put_force_units(client, force, replacement, token=token, dry_run=dry_run)
    except UnitsRefused as error:
        typer.echo(f"refused ({error.status}): {error.detail}", err=True)
    except httpx.HTTPError as error:
        typer.echo(f"cannot reach the availability service at {url}: {error}", err=True)
    raise typer.Exit(1)


def development_token(force: str) -> str:
    """A development token of a resource manager of the force, signed with the configured key."""
    sub = f"{Role.RESOURCE_MANAGER.value}@{force}"
    return auth.development_token(CommonSettings(), sub=sub, role=Role.RESOURCE_MANAGER, force=force)


audit_app = typer.Typer(help="The tasking service's audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    database_url: Annotated[
        str | None, typer.Option(help="The tasking database; defaults to TASKING_DATABASE_URL")
    ] = None,
    checkpoints: Annotated[
        list[Path] | None,
        typer.Option(
            help="Also check against the checkpoints in this file (an archive, or what `mutualaid audit checkpoints` "
            "wrote); repeat for several. Defaults to TASKING_AUDIT_ARCHIVE, or the archive `mutualaid run` keeps in "
            "its state directory (MUTUALAID_STATE_DIR), when it exists"
        ),
    ] = None,
    broker: Annotated[
        bool, typer.Option(help="Check against the checkpoints on the broker's audit topic (KAFKA_BOOTSTRAP_SERVERS)")
    ] = True,
) -> None:
    """Check the audit trail: its keyed hash chain (TASKING_AUDIT_KEYS), that no entry is missing, and that it
    still holds every checkpoint published; names the first entry that does not verify."""
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    from mutualaid.audit import broker_checkpoints, verify_database
    from services.tasking.audit_archive import read_checkpoints

    files = checkpoints or _default_archive()
    marks = []
    for path in files:
        try:
            marks.extend(read_checkpoints(path))
        except (OSError, ValueError) as error:
            raise typer.BadParameter(str(error), param_hint="--checkpoints") from error
    if broker:
        marks.extend(asyncio.run(_from_broker(broker_checkpoints)))
    try:
        verdict = asyncio.run(verify_database(database_url, marks))
    except SQLAlchemyError as error:
        first_line = str(error.orig if isinstance(error, DBAPIError) else error).splitlines()[0]
        typer.echo(f"cannot read the audit trail ({first_line}); is it the tasking database?", err=True)
        raise typer.Exit(2) from None
    against = ", ".join(["the broker"] * broker + [str(path) for path in files]) or "none given"
    if verdict.intact:
        typer.echo(
            f"audit trail intact: {verdict.entries} entries, {verdict.checkpoints} checkpoints hold (from {against})"
        )
        return
    typer.echo(f"audit trail BROKEN at entry {verdict.first_broken}: {verdict.reason}", err=True)
    raise typer.Exit(1)


def _default_archive() -> list[Path]:
    """The archive of checkpoints the tasking service keeps: TASKING_AUDIT_ARCHIVE, else `mutualaid run`'s."""
    from services.tasking.audit_archive import ARCHIVE_NAME
    from services.tasking.config import TaskingSettings

    configured = TaskingSettings().audit_archive
    path = configured or Path(os.environ.get("MUTUALAID_STATE_DIR", "var")) / ARCHIVE_NAME
    return [path] if path.exists() else []


@audit_app.command("checkpoints")
def audit_checkpoints() -> None:
    """Print the audit trail's checkpoints on the broker as JSON lines: keep the file where the database's
    administrators cannot write, and check the trail against it with `verify --checkpoints`."""
    from mutualaid.audit import broker_checkpoints
    from services.tasking.audit_archive import checkpoint_line

    for mark in asyncio.run(_from_broker(broker_checkpoints)):
        typer.echo(checkpoint_line(mark))


async def _from_broker(read: "Callable[[], Awaitable[list[Checkpoint]]]") -> "list[Checkpoint]":
    from aiokafka.errors import KafkaError

    try:
        async with asyncio.timeout(30):
            return await read()
    except (KafkaError, TimeoutError) as error:
        typer.echo(
            f"cannot read the checkpoints from the broker ({error or 'no answer in 30 s'}); "
            "run with --no-broker to check the chain alone",
            err=True,
        )
        raise typer.Exit(2) from error


@audit_app.command("replay")
def audit_replay(
    proposal_id: Annotated[str | None, typer.Argument(help="A proposal; leave out with --all")] = None,
    every: Annotated[bool, typer.Option("--all", help="Replay the run of every proposal")] = False,
    database_url: Annotated[
        str | None, typer.Option(help="The tasking database; defaults to TASKING_DATABASE_URL")
    ] = None,
) -> None:
    """Re-run the planner on a proposal's recorded inputs and show that the same plan comes out."""
    from mutualaid.audit import replay_database

    if (proposal_id is None) == (not every):
        raise typer.BadParameter("give one proposal id, or --all")
    results = asyncio.run(replay_database(database_url, None if every else proposal_id))
    for result in results:
        verdict = "same plan" if result["same_plan"] else f"DIFFERENT: {result['differences']}"
        typer.echo(f"run {result['planning_run_id']} ({result['planner']}): {verdict}")
    if not all(result["same_plan"] for result in results):
        raise typer.Exit(1)
    typer.echo(f"{len(results)} planning run(s) replayed: every plan reproduced")


@app.command("reconcile")
def reconcile_command(
    availability_database_url: Annotated[
        str | None, typer.Option(help="The availability database; defaults to AVAILABILITY_DATABASE_URL")
    ] = None,
    tasking_database_url: Annotated[
        str | None, typer.Option(help="The tasking database; defaults to TASKING_DATABASE_URL")
    ] = None,
    repair: Annotated[
        bool, typer.Option("--repair", help="Release again the units still committed to ended requests")
    ] = False,
) -> None:
    """Check that availability and tasking agree on committed units, and proposals on the audit trail (read-only)."""
    from mutualaid import reconcile

    databases = reconcile.Databases.configured(availability_database_url, tasking_database_url)
    findings = asyncio.run(reconcile.reconcile(databases))
    for finding in findings:
        typer.echo(str(finding))
    if repair and findings:
        for request_id in asyncio.run(reconcile.repair(databases, findings)):
            typer.echo(f"repaired      {request_id}: tasking.stood_down sent again; availability releases its units")
    if findings:
        typer.echo(f"{len(findings)} finding(s)", err=True)
        raise typer.Exit(1)
    typer.echo("reconciled: availability and tasking agree, and every proposal agrees with the audit trail")
