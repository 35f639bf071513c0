"""settings.load_settings: every variable read, defaults, and one clear error per bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from settings import ENV_NAMES, Settings, SettingsError, load_settings

VALID = {
    "TEMPORAL_ADDRESS": "temporal.example.org:7233",
    "TEMPORAL_NAMESPACE": "inkanteling-prod",
    "INKANTELING_TASK_QUEUE": "trajectories",
    "INKANTELING_UI_PORT": "8080",
    "DATABASE_URL": "postgresql://app@db.example.org:5432/inkanteling",
    "INKANTELING_PG_PORT": "6543",
    "INKANTELING_DATA_DIR": "/var/lib/inkanteling",
    "INKANTELING_LOG_LEVEL": "WARNING",
    "INKANTELING_LOG_FORMAT": "json",
    "INKANTELING_CODEC_KEY_FILE": "/etc/inkanteling/keyring.json",
    "INKANTELING_CODEC_TOKEN_FILE": "/etc/inkanteling/codec-token",
    "INKANTELING_CODEC_PORT": "9443",
    "INKANTELING_CODEC_ALLOWED_ORIGIN": "https://temporal-ui.example.org",
    "TEMPORAL_TLS_CA_FILE": "/etc/inkanteling/tls/ca.pem",
    "TEMPORAL_TLS_CERT_FILE": "/etc/inkanteling/tls/worker.pem",
    "TEMPORAL_TLS_KEY_FILE": "/etc/inkanteling/tls/worker.key",
    "TEMPORAL_TLS_SERVER_NAME": "temporal.example.org",
    "INKANTELING_METRICS_PORT": "9100",
    "INKANTELING_METRICS_REFRESH_SECONDS": "15",
}

# One or more unusable values per variable; variables that take any text are listed apart.
INVALID = [
    ("TEMPORAL_ADDRESS", "localhost"),
    ("TEMPORAL_ADDRESS", "local host:7233"),
    ("TEMPORAL_NAMESPACE", "n" * 201),
    ("INKANTELING_TASK_QUEUE", "q" * 201),
    ("INKANTELING_UI_PORT", "0"),
    ("INKANTELING_UI_PORT", "65536"),
    ("INKANTELING_UI_PORT", "eighty"),
    ("DATABASE_URL", "mysql://app@db/inkanteling"),
    ("INKANTELING_PG_PORT", "-1"),
    ("INKANTELING_PG_PORT", "5432.5"),
    ("INKANTELING_LOG_LEVEL", "loud"),
    ("INKANTELING_LOG_FORMAT", "xml"),
    ("INKANTELING_CODEC_PORT", "0"),
    ("INKANTELING_CODEC_ALLOWED_ORIGIN", "*"),
    ("INKANTELING_CODEC_ALLOWED_ORIGIN", "https://ui.example.org/path"),
    ("TEMPORAL_TLS_SERVER_NAME", "temporal example"),
    ("INKANTELING_METRICS_PORT", "65536"),
    ("INKANTELING_METRICS_REFRESH_SECONDS", "0"),
]
FREE_FORM = {
    "INKANTELING_DATA_DIR",
    "INKANTELING_CODEC_KEY_FILE",
    "INKANTELING_CODEC_TOKEN_FILE",
    # Paths; a certificate without its key is tested in tests/test_tls.py.
    "TEMPORAL_TLS_CA_FILE",
    "TEMPORAL_TLS_CERT_FILE",
    "TEMPORAL_TLS_KEY_FILE",
}


def test_every_variable_has_a_test() -> None:
    # A new setting needs an invalid-value case here (or a place in FREE_FORM).
    assert {name for name, _ in INVALID} | FREE_FORM == set(ENV_NAMES.values())
    assert set(VALID) == set(ENV_NAMES.values())


def test_valid_environment() -> None:
    settings = load_settings(VALID)
    assert settings == Settings(
        temporal_address="temporal.example.org:7233",
        temporal_namespace="inkanteling-prod",
        task_queue="trajectories",
        temporal_ui_port=8080,
        database_url="postgresql://app@db.example.org:5432/inkanteling",
        embedded_postgres_port=6543,
        data_dir=Path("/var/lib/inkanteling"),
        log_level="warning",
        log_format="json",
        codec_key_file=Path("/etc/inkanteling/keyring.json"),
        codec_token_file=Path("/etc/inkanteling/codec-token"),
        codec_port=9443,
        codec_allowed_origin="https://temporal-ui.example.org",
        temporal_tls_ca_file=Path("/etc/inkanteling/tls/ca.pem"),
        temporal_tls_cert_file=Path("/etc/inkanteling/tls/worker.pem"),
        temporal_tls_key_file=Path("/etc/inkanteling/tls/worker.key"),
        temporal_tls_server_name="temporal.example.org",
        metrics_port=9100,
        metrics_refresh_seconds=15.0,
    )
    assert settings.temporal_ui_url == "http://temporal.example.org:8080"
    assert settings.codec_key_path == Path("/etc/inkanteling/keyring.json")
    assert settings.codec_origin == "https://temporal-ui.example.org"


def test_the_codec_files_default_to_the_data_folder() -> None:
    """So a starter in a second terminal finds the ring the local stack created."""
    settings = load_settings({"INKANTELING_DATA_DIR": "/srv/ink"})
    assert settings.codec_key_path == Path("/srv/ink/codec/keyring.json")
    assert settings.codec_token_path == Path("/srv/ink/codec/token")
    assert settings.codec_origin == "http://localhost:8233"  # the Web UI beside TEMPORAL_ADDRESS


def test_defaults_and_empty_values_mean_unset() -> None:
    defaults = load_settings({})
    assert defaults == Settings()
    assert defaults.database_url is None
    assert defaults.temporal_address == "localhost:7233"
    assert load_settings(dict.fromkeys(VALID, "")) == defaults


def test_unrelated_variables_are_ignored() -> None:
    assert load_settings({"PATH": "/usr/bin", "INKANTELING_UNKNOWN": "x"}) == Settings()


def test_secret_is_not_in_the_repr() -> None:
    settings = load_settings(VALID)
    assert "not-a-real-key" not in repr(settings)
    assert "not-a-real-key" not in str(settings)


@pytest.mark.parametrize(("variable", "value"), INVALID)
def test_invalid_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**VALID, variable: value})
    message = str(caught.value)
    assert message.startswith(f"invalid configuration: {variable}=")
    others = set(ENV_NAMES.values()) - {variable}
    assert not any(f"{other}=" in message for other in others)


def test_every_invalid_value_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"INKANTELING_UI_PORT": "0", "INKANTELING_LOG_LEVEL": "loud"})
    assert "INKANTELING_UI_PORT='0'" in str(caught.value)
    assert "INKANTELING_LOG_LEVEL='loud'" in str(caught.value)
