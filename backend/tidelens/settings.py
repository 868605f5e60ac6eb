"""One validated settings object for the service, read from `TIDELENS_*` variables.

Two modes share one code path:

- ``embedded`` (default): SQLite file, objects in a local folder served through
  HMAC-signed expiring URLs, Celery on kombu's filesystem transport. Everything
  lives under ``data_dir``; a secret and an API token are generated there on
  first start.
- ``team``: Postgres, Redis as broker and result backend, an S3-compatible store
  with presigned URLs. Secrets must be given; unsafe defaults are refused unless
  ``environment`` is ``development``.
"""

from __future__ import annotations

import logging
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

ENV_PREFIX = "TIDELENS_"


class SettingsError(RuntimeError):
    """Configuration that cannot work; the message names the variables to fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    mode: Literal["embedded", "team"] = "embedded"
    environment: Literal["development", "production"] = "production"
    data_dir: Path = Path(".tidelens")

    database_url: str | None = None
    broker_url: str | None = None
    result_backend: str | None = None

    storage: Literal["local", "s3"] | None = None
    objects_dir: Path | None = None
    s3_endpoint: str | None = None
    s3_public_endpoint: str | None = Field(
        None, description="address browsers use to reach S3; presigned URLs embed it"
    )
    s3_bucket: str = "tidelens"
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_region: str = "us-east-1"

    secret_key: str | None = Field(None, description="signs local object URLs")
    api_token: str | None = Field(None, description="Bearer token for writes")
    public_url: str | None = Field(
        None, description="base URL of the API as browsers see it (signed URLs)"
    )
    url_ttl_seconds: int = Field(3600, ge=10)
    cors_origins: list[str] = []

    max_checkpoint_bytes: int = Field(4 * 1024**3, gt=0)
    max_dataset_zip_bytes: int = Field(2 * 1024**3, gt=0)
    max_dataset_unpacked_bytes: int = Field(8 * 1024**3, gt=0)
    max_dataset_files: int = Field(200_000, gt=0)

    device: str = "auto"
    inference_batch_size: int = Field(4, ge=1)
    heatmaps_per_type: int = Field(3, ge=0)
    heatmap_method: str = "gradcam"
    watch_interval_seconds: float = Field(5.0, gt=0)
    watch_settle_seconds: float = Field(2.0, ge=0)

    @model_validator(mode="after")
    def _fill_mode_defaults(self) -> Settings:
        if self.storage is None:
            self.storage = "local" if self.mode == "embedded" else "s3"
        if self.objects_dir is None:
            self.objects_dir = self.data_dir / "objects"
        if self.mode == "embedded":
            self.database_url = self.database_url or f"sqlite:///{self.db_path}"
            self.broker_url = self.broker_url or "filesystem://localhost//"
            if self.result_backend is None:
                self.result_backend = f"file://{self.queue_dir.resolve()}/results"
            return self
        problems = []
        if not self.database_url:
            problems.append("TIDELENS_DATABASE_URL (postgresql://...) is required")
        if not self.broker_url:
            problems.append("TIDELENS_BROKER_URL (redis://...) is required")
        if self.storage == "s3":
            for name in ("s3_endpoint", "s3_access_key", "s3_secret_key"):
                if not getattr(self, name):
                    problems.append(f"TIDELENS_{name.upper()} is required for S3")
        if self.environment != "development":
            if not self.api_token or len(self.api_token) < 16:
                problems.append("TIDELENS_API_TOKEN must be set (16+ characters)")
            if self.storage == "local" and not self.secret_key:
                problems.append("TIDELENS_SECRET_KEY must be set for local storage")
        if problems:
            raise ValueError("team mode: " + "; ".join(problems))
        self.result_backend = self.result_backend or self.broker_url
        return self

    @property
    def db_path(self) -> Path:
        return self.data_dir / "tidelens.db"

    @property
    def queue_dir(self) -> Path:
        return self.data_dir / "queue"

    @property
    def tmp_dir(self) -> Path:
        return self.data_dir / "tmp"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    def filesystem_broker_options(self) -> dict:
        q = self.queue_dir.resolve()
        return {
            "data_folder_in": str(q / "messages"),
            "data_folder_out": str(q / "messages"),
            "processed_folder": str(q / "processed"),
            "store_processed": False,
            "control_folder": str(q / "control"),
            "polling_interval": 0.1,
        }

    def to_env(self) -> dict[str, str]:
        """These settings as ``TIDELENS_*`` variables (for a worker child)."""
        out = {}
        for name, value in self.model_dump().items():
            if value is None or name == "cors_origins":
                continue
            if isinstance(value, Path):
                value = value.resolve()
            out[ENV_PREFIX + name.upper()] = str(value)
        return out

    def prepare(self) -> Settings:
        """Create the folders this configuration writes to; fill generated secrets.

        Embedded mode (and development) keep a random secret and API token in
        ``data_dir`` so that restarts reuse them.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        if self.storage == "local":
            self.objects_dir.mkdir(parents=True, exist_ok=True)
        if self.broker_url.startswith("filesystem"):
            for key in ("data_folder_in", "processed_folder", "control_folder"):
                Path(self.filesystem_broker_options()[key]).mkdir(
                    parents=True, exist_ok=True
                )
        if self.result_backend and self.result_backend.startswith("file://"):
            Path(self.result_backend.removeprefix("file://")).mkdir(
                parents=True, exist_ok=True
            )
        if not self.secret_key:
            self.secret_key = _read_or_create(self.data_dir / "secret-key")
        if not self.api_token:
            self.api_token = _read_or_create(self.data_dir / "api-token")
        return self


def _read_or_create(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(32)
    path.write_text(value + "\n")
    path.chmod(0o600)
    log.info("settings.secret_created path=%s", path)
    return value


def _readable(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if p]
        name = ENV_PREFIX + "_".join(loc).upper() if loc else "settings"
        lines.append(f"  {name}: {err['msg']}")
    return "invalid TideLens configuration:\n" + "\n".join(lines)


def load_settings(**overrides) -> Settings:
    """Read, validate and prepare settings; raise SettingsError with a readable text."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_readable(exc)) from None
    return settings.prepare()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (from the environment), prepared once."""
    return load_settings()
