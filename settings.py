"""One typed settings object, read from the environment.

Every process (worker, starter, local stack, tests) reads its configuration here, so a wrong
value fails at start with one clear message instead of somewhere deep in a run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

ENV_PREFIX = "INKANTELING_"


class SettingsError(ValueError):
    """An environment variable holds a value the program cannot use."""


class Settings(BaseModel):
    """Runtime configuration. Field names map to environment variables (see `ENV_NAMES`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temporal_address: str = Field(
        default="localhost:7233", pattern=r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$"
    )
    temporal_namespace: str = Field(default="default", min_length=1, max_length=200)
    task_queue: str = Field(default="inkanteling", min_length=1, max_length=200)
    temporal_ui_port: int = Field(default=8233, ge=1, le=65535)
    database_url: str | None = None
    # Port of the embedded PostgreSQL that the local stack runs when DATABASE_URL is unset.
    embedded_postgres_port: int = Field(default=5433, ge=1, le=65535)
    data_dir: Path = Path(".data")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "console", "json"] = "auto"
    # The payload codec (codec/): its key ring, the codec server's bearer token, port and the
    # one Web UI origin it answers. Unset files default to the local stack's, under data_dir.
    codec_key_file: Path | None = None
    codec_token_file: Path | None = None
    codec_port: int = Field(default=8234, ge=1, le=65535)
    # Default: the Web UI of temporal_address's host (`temporal_ui_url`).
    codec_allowed_origin: str | None = Field(
        default=None, pattern=r"^https?://[A-Za-z0-9.\-\[\]:]+$"
    )
    # TLS to the Temporal frontend (docs/operations.md). Any of them set turns TLS on; without
    # a CA file the system's roots verify the server. Paths only: the files are read at connect.
    temporal_tls_ca_file: Path | None = None
    temporal_tls_cert_file: Path | None = None
    temporal_tls_key_file: Path | None = Field(default=None, validate_default=True)
    temporal_tls_server_name: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9.\-]{0,252})$"
    )
    # The worker's Prometheus endpoint (metrics/): 0 turns it off. Domain gauges are recounted
    # from Temporal's visibility every metrics_refresh_seconds.
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    metrics_refresh_seconds: float = Field(default=30.0, ge=0.2, le=3600)

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgres://", "postgresql://")):
            raise ValueError(
                "must start with postgresql:// (for example postgresql://user@host:5432/db)"
            )
        return value

    @field_validator("temporal_tls_key_file")
    @classmethod
    def _cert_and_key_together(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if (value is None) != (info.data.get("temporal_tls_cert_file") is None):
            raise ValueError(
                "TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE go together: set both for a "
                "client certificate, or neither"
            )
        return value

    @property
    def temporal_tls(self) -> bool:
        return any(
            value is not None
            for value in (
                self.temporal_tls_ca_file,
                self.temporal_tls_cert_file,
                self.temporal_tls_server_name,
            )
        )

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @property
    def codec_key_path(self) -> Path:
        return self.codec_key_file or self.data_dir / "codec" / "keyring.json"

    @property
    def codec_token_path(self) -> Path:
        return self.codec_token_file or self.data_dir / "codec" / "token"

    @property
    def codec_origin(self) -> str:
        """The one browser origin the codec server answers: the Web UI's."""
        return self.codec_allowed_origin or self.temporal_ui_url

    @property
    def temporal_ui_url(self) -> str:
        host = self.temporal_address.rsplit(":", 1)[0]
        return f"http://{host}:{self.temporal_ui_port}"


# Environment variable for each field. DATABASE_URL and TEMPORAL_ADDRESS keep their
# conventional names so that pointing the program at real servers needs no prefix.
ENV_NAMES: dict[str, str] = {
    "temporal_address": "TEMPORAL_ADDRESS",
    "temporal_namespace": "TEMPORAL_NAMESPACE",
    "task_queue": f"{ENV_PREFIX}TASK_QUEUE",
    "temporal_ui_port": f"{ENV_PREFIX}UI_PORT",
    "database_url": "DATABASE_URL",
    "embedded_postgres_port": f"{ENV_PREFIX}PG_PORT",
    "data_dir": f"{ENV_PREFIX}DATA_DIR",
    "log_level": f"{ENV_PREFIX}LOG_LEVEL",
    "log_format": f"{ENV_PREFIX}LOG_FORMAT",
    "codec_key_file": f"{ENV_PREFIX}CODEC_KEY_FILE",
    "codec_token_file": f"{ENV_PREFIX}CODEC_TOKEN_FILE",
    "codec_port": f"{ENV_PREFIX}CODEC_PORT",
    "codec_allowed_origin": f"{ENV_PREFIX}CODEC_ALLOWED_ORIGIN",
    # Paths (hence _FILE), never PEM text. TEMPORAL_TLS_SERVER_NAME is also the name the
    # `temporal` CLI reads for the same thing.
    "temporal_tls_ca_file": "TEMPORAL_TLS_CA_FILE",
    "temporal_tls_cert_file": "TEMPORAL_TLS_CERT_FILE",
    "temporal_tls_key_file": "TEMPORAL_TLS_KEY_FILE",
    "temporal_tls_server_name": "TEMPORAL_TLS_SERVER_NAME",
    "metrics_port": f"{ENV_PREFIX}METRICS_PORT",
    "metrics_refresh_seconds": f"{ENV_PREFIX}METRICS_REFRESH_SECONDS",
}


# Values never repeated in error messages: a URL may carry a password.
_SECRET_FIELDS = frozenset({"database_url"})


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build `Settings` from the environment; raise `SettingsError` naming the variable at fault."""
    env = os.environ if environ is None else environ
    raw = {field: env[name] for field, name in ENV_NAMES.items() if env.get(name, "") != ""}
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            name = ENV_NAMES.get(field, field)
            shown = "<hidden>" if field in _SECRET_FIELDS else repr(raw.get(field))
            problems.append(f"{name}={shown}: {error['msg']}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None
