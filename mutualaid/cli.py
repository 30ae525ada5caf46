"""The `mutualaid` command: run the system, the embedded broker, tokens, contracts."""

import asyncio
import signal
from typing import Annotated

import typer

from shared.auth import Role, issue_token
from shared.broker import EmbeddedBroker
from shared.settings import CommonSettings

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
    secret = CommonSettings().jwt_secret.get_secret_value()
    subject = sub or f"{role.value}@{force or region or 'national'}"
    typer.echo(issue_token(secret, sub=subject, role=role, force=force, region=region, ttl=timedelta(hours=hours)))


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="requests, availability or tasking")],
    port: Annotated[int | None, typer.Option(help="Port; defaults to the service's setting")] = None,
    host: str = "127.0.0.1",
) -> None:
    """Run one service (HTTP and its Kafka consumers) in the foreground."""
    import uvicorn

    from mutualaid.services import SERVICES, create_app, settings_for

    if service not in SERVICES:
        raise typer.BadParameter(f"one of: {', '.join(SERVICES)}", param_hint="SERVICE")
    settings = settings_for(service)
    uvicorn.run(create_app(service, settings), host=host, port=port or settings.port, log_level="warning")


@app.command()
def run(
    broker_port: Annotated[int, typer.Option(help="Embedded broker port")] = 9092,
    demo: Annotated[bool, typer.Option(help="Declare the West Midlands demo units")] = True,
) -> None:
    """Run the whole system: embedded broker and the three services on SQLite, until Ctrl-C."""
    from mutualaid.runner import run_forever

    asyncio.run(run_forever(broker_port=broker_port, demo=demo))


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
