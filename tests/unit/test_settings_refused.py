"""A setting refused at start is one line naming the environment variable to change, never echoing a secret."""

import pytest
from typer.testing import CliRunner

from mutualaid.cli import app
from mutualaid.preflight import StartupError
from mutualaid.runner import service_ports


def refusal(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(StartupError) as refused:
        service_ports()
    return str(refused.value)


def test_a_shared_setting_is_named_as_its_variable_not_with_a_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    line = refusal(monkeypatch, MUTUALAID_OUTBOX_RETENTION_HOURS="a week")
    assert line.startswith("MUTUALAID_OUTBOX_RETENTION_HOURS: ")
    assert "'a week'" in line


def test_a_check_across_settings_names_them_without_dumping_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    line = refusal(monkeypatch, MUTUALAID_OUTBOX_RETENTION_HOURS="48", MUTUALAID_INBOX_RETENTION_HOURS="24")
    assert line.startswith("MUTUALAID_INBOX_RETENTION_HOURS must be at least MUTUALAID_OUTBOX_RETENTION_HOURS")
    assert "given" not in line


@pytest.mark.parametrize(
    ("variable", "secret"),
    [("MUTUALAID_JWT_SECRET", "short-signing-secret-value"), ("TASKING_AUDIT_KEYS", '{"1": "short-audit-key"}')],
)
def test_a_secret_refused_is_never_printed(monkeypatch: pytest.MonkeyPatch, variable: str, secret: str) -> None:
    line = refusal(monkeypatch, **{variable: secret})
    assert variable in line
    assert "short-" not in line


def test_audit_keys_that_are_not_json_are_named_by_run_and_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    assert refusal(monkeypatch, TASKING_AUDIT_KEYS="not json").startswith("TASKING_AUDIT_KEYS: cannot be read")
    result = CliRunner().invoke(app, ["serve", "tasking"])
    assert result.exit_code == 1
    assert result.output.startswith("mutualaid serve tasking: TASKING_AUDIT_KEYS: cannot be read")


def test_serve_refuses_a_trace_protocol_not_installed_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    result = CliRunner().invoke(app, ["serve", "requests"])
    assert result.exit_code == 1
    assert result.output.startswith("mutualaid serve requests: OTEL_EXPORTER_OTLP_PROTOCOL=grpc: only http/protobuf")


def test_a_heartbeat_no_more_often_than_the_session_lasts_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    line = refusal(monkeypatch, KAFKA_SESSION_TIMEOUT_MS="6000", KAFKA_HEARTBEAT_INTERVAL_MS="10000")
    assert line.startswith("KAFKA_HEARTBEAT_INTERVAL_MS must be below KAFKA_SESSION_TIMEOUT_MS")


@pytest.mark.parametrize(
    ("env", "first_words"),
    [
        ({"MUTUALAID_JWT_ALGORITHM": "RS256"}, "MUTUALAID_JWKS_URL must be set with MUTUALAID_JWT_ALGORITHM=RS256"),
        ({"MUTUALAID_JWKS_URL": "https://idp.example/jwks"}, "MUTUALAID_JWT_ALGORITHM must be RS256 or ES256"),
        ({"MUTUALAID_JWT_ALGORITHM": "none"}, "MUTUALAID_JWT_ALGORITHM: "),
        ({"MUTUALAID_JWT_LEEWAY_S": "3600"}, "MUTUALAID_JWT_LEEWAY_S: "),
        ({"MUTUALAID_JWKS_URL": "not a url", "MUTUALAID_JWT_ALGORITHM": "ES256"}, "MUTUALAID_JWKS_URL: "),
        ({"MUTUALAID_ENV": "test"}, "MUTUALAID_JWT_SECRET must be set to a real secret in test"),
        (
            {
                "MUTUALAID_ENV": "production",
                "MUTUALAID_JWKS_URL": "http://idp/jwks",
                "MUTUALAID_JWT_ALGORITHM": "RS256",
            },
            "MUTUALAID_JWKS_URL must be https in production",
        ),
    ],
)
def test_token_settings_that_cannot_hold_are_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], first_words: str
) -> None:
    assert refusal(monkeypatch, **env).startswith(first_words)


@pytest.mark.parametrize("environment", ["test", "production"])
def test_the_development_audit_key_is_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    line = refusal(monkeypatch, MUTUALAID_ENV=environment, MUTUALAID_JWT_SECRET="s" * 40)
    assert line.startswith(f"TASKING_AUDIT_KEYS must hold real keys in {environment}, not the development key")
