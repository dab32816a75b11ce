"""All configuration in one object, read from EXHAUST_* environment variables."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError as PydanticSettingsError

from exhaust.errors import SettingError

#: Sunbird's tenant security levels (outputs/security.py applies them).
SECURITY_LEVELS = (
    "PLAIN_DATASET",
    "PASSWORD_PROTECTED_DATASET",
    "TEXT_KEY_ENCRYPTED_DATASET",
    "PUBLIC_KEY_ENCRYPTED_DATASET",
)
_DB_URL = re.compile(r"^(sqlite(\+\w+)?:///.+|(postgresql|postgres)(\+\w+)?://.+)$")


class Settings(BaseSettings):
    """Settings shared by the CLI, the workers and the API."""

    model_config = SettingsConfigDict(env_prefix="EXHAUST_", extra="ignore")

    data_dir: Path = Field(
        Path("exhaust-data"), description="Folder for embedded defaults (demo data, files)."
    )
    source: str = Field("", description="Where platform data comes from: a folder, files:DIR, or a URL.")
    engine: str = Field("duckdb", description="Report engine backend: duckdb or spark.")
    timezone: str = Field("Asia/Kolkata", description="Time zone of file-name dates and request ids.")
    assessment_content_types: list[str] = Field(
        default_factory=lambda: ["SelfAssess"],
        description="contentType values that make a node an assessment.",
    )
    assessment_object_types: list[str] = Field(
        default_factory=lambda: ["QuestionSet"],
        description="objectType values checked with the categories below.",
    )
    assessment_primary_categories: list[str] = Field(
        default_factory=lambda: ["Practice Question Set"],
        description="primaryCategory values of question sets that count as assessments.",
    )
    csv_bom: bool = Field(False, description="Start CSV files with a UTF-8 byte order mark (for Excel).")
    sunbird_encryption_key: str = Field(
        "", description="Salt of Sunbird's PII encryption (sunbird_encryption_key)."
    )
    db_url: str = Field(
        "", description="Job store: sqlite:///FILE or postgresql://…; default a SQLite file in data_dir."
    )
    job_table: str = Field("job_request", description="Name of the job table (Sunbird: <env>_job_request).")
    storage_url: str = Field(
        "", description="Where report files go: a folder, file://, s3://bucket/prefix, …"
    )
    storage_options: dict = Field(
        default_factory=dict, description="Extra fsspec options as JSON (e.g. endpoint_url for S3)."
    )
    signing_secret: SecretStr = Field(
        SecretStr(""), description="HMAC key of local download links; generated under data_dir when unset."
    )
    url_expiry_minutes: int = Field(30, ge=1, description="Lifetime of signed download URLs.")
    zip_encryption: Literal["zipcrypto", "aes256"] = Field(
        "zipcrypto", description="Zip password scheme: zipcrypto (opens everywhere) or aes256."
    )
    lease_seconds: float = Field(
        60, gt=0, description="A worker's claim on a job lasts this long unless renewed."
    )
    max_attempts: int = Field(3, ge=1, description="Attempts per job before it is FAILED for good.")
    retry_backoff_seconds: float = Field(10, ge=0, description="Wait before the 2nd attempt; x4 per attempt.")
    poll_seconds: float = Field(0.5, gt=0, description="Idle workers look for due jobs this often.")
    source_cache_seconds: float = Field(30, ge=0, description="A worker reuses an opened source this long.")
    download_base_url: str = Field(
        "", description="Public base URL of the API serving local /download links."
    )
    profiles_dir: Path | None = Field(None, description="Folder of extra report profiles (*.toml).")
    metrics_public: bool = Field(False, description="Serve /metrics without a SERVICE bearer token.")
    report_chunk_learners: int = Field(
        10_000, ge=1, description="Learners per part when a report has many rows per learner (responses)."
    )
    smtp_host: str = Field("", description="SMTP server for job mails; mails are off when empty.")
    smtp_port: int = Field(25, description="SMTP port.")
    smtp_user: str = Field("", description="SMTP login (optional).")
    smtp_password: SecretStr = Field(SecretStr(""), description="SMTP password (never logged).")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_from: str = Field("exhaust@localhost", description="Sender address of job mails.")
    smtp_timeout: float = Field(10.0, description="Seconds before an SMTP attempt gives up.")
    mail_retries: int = Field(3, ge=1, description="Attempts to deliver one mail before giving up.")
    mail_attach_max_bytes: int = Field(
        10 * 1024 * 1024, description="Attach the file when it is at most this big."
    )
    users_redis_url: str = Field(
        "",
        description="Redis user cache (user:<id> hashes), e.g. redis://127.0.0.1:6379/12; empty: users table.",
    )
    users_redis_chunk: int = Field(1000, description="User ids per pipelined HGETALL round trip to Redis.")
    optional_nodes_redis_url: str = Field(
        "",
        description="Redis relation cache with <course>:<course>:optionalnodes sets, e.g. redis://host:6379/5.",
    )
    content_api_url: str = Field(
        "",
        description="Sunbird public API base (what precedes /course/v1/hierarchy/<id>); empty: hierarchy table.",
    )
    content_api_key: str = Field("", description="Bearer token sent to the content service (never logged).")
    content_api_timeout: float = Field(
        30.0, description="Seconds before one content service request gives up."
    )
    content_api_retries: int = Field(
        3, description="Retries of a content service request on 5xx or network errors."
    )
    cassandra_keyspaces: dict[str, str] = Field(
        default_factory=dict,
        description="Cassandra keyspace per table (JSON); tables not named keep Sunbird's (sources/cassandra.py).",
    )
    api_max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body the API accepts (Sunbird's gateway: 1 MB)."
    )
    api_token_table: str = Field(
        "api_token", description="Table of API bearer tokens (hashed), beside the job table."
    )
    api_token_cache_seconds: float = Field(
        5.0, ge=0, description="An API process trusts a checked token this long (a revocation waits as long)."
    )
    api_threads: int = Field(
        10,
        ge=1,
        description="Threads doing database and source work per API process (at most the DB pool size).",
    )
    security_levels: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description='Tenant security level per channel and dataset (JSON {"<channel|*>": {"<dataset|*>": '
        '"<LEVEL>"}}); default PASSWORD_PROTECTED_DATASET (outputs/security.py).',
    )
    public_keys: dict[str, str] = Field(
        default_factory=dict,
        description="PEM public key file per channel (JSON; * for any) for PUBLIC_KEY_ENCRYPTED_DATASET.",
    )

    # ---- hardening (issue 14): work files, build processes, token expiry -------------------------
    work_dir: Path | None = Field(
        None, description="Folder of the workers' job work files (cleaned at start); default data_dir/work."
    )
    build_process: bool = Field(
        True, description="Workers build each report in a process of its own (lease renewals never starve)."
    )
    build_nice: int = Field(
        10, ge=0, le=19, description="CPU niceness added to build processes (the API and renewals go first)."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"{value!r} is not a known time zone (e.g. Asia/Kolkata, UTC)") from None
        return value

    @field_validator("db_url")
    @classmethod
    def _db_url_form(cls, value: str) -> str:
        if value and not _DB_URL.match(value):
            raise ValueError("must be sqlite:///FILE or postgresql://user@host:port/db")
        return value

    @field_validator("security_levels")
    @classmethod
    def _known_levels(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for channel, per_dataset in value.items():
            for dataset, level in per_dataset.items():
                if str(level).strip().upper() not in SECURITY_LEVELS:
                    raise ValueError(
                        f"{channel}/{dataset}: unknown level {level!r}; use one of {', '.join(SECURITY_LEVELS)}"
                    )
        return value

    def source_spec(self) -> str:
        """The configured source, defaulting to the demo data folder."""
        return self.source or f"files:{self.data_dir / 'demo'}"


def setting_error(exc: Exception) -> SettingError:
    """One line naming the EXHAUST_* variable and what is wrong with its value."""
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        name = str(first.get("loc", ("?",))[0])
        reason = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        return SettingError(f"setting EXHAUST_{name.upper()} is invalid: {reason}")
    found = re.search(r'field "(\w+)"', str(exc))
    if found:
        return SettingError(f"setting EXHAUST_{found.group(1).upper()} is invalid: it must be JSON")
    return SettingError(f"the settings are invalid: {str(exc).splitlines()[0]}")


def load_settings(**values: object) -> Settings:
    """Settings from the environment (and `values`); a bad value raises SettingError (one line)."""
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except (ValidationError, PydanticSettingsError) as exc:
        raise setting_error(exc) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once); a bad value raises SettingError."""
    return load_settings()
