"""Settings, read from XIAOBAO_* environment variables (and an optional .env file)."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

INSECURE_DEFAULT_SECRET = "insecure-demo-secret-change-me"  # noqa: S105 - refused outside demo mode


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XIAOBAO_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./xiaobao.db"
    secret_key: str = INSECURE_DEFAULT_SECRET
    demo: bool = False
    """Demo mode: permits the insecure default secret and uses the logging SMS gateway."""
    data_dir: Path = Path("./var")
    default_lang: str = "zh"
    session_hours: int = 12
    cookie_secure: bool = False
    login_max_failures: int = 5
    login_window_minutes: int = 15
    attachment_max_bytes: int = 10 * 1024 * 1024
    contact_target_workdays: int = 1
    holidays_file: Path | None = None
    """YAML with `holidays:` and `workdays:` date lists: the official schedule for years the calendar
    package does not know yet (published each autumn by the State Council)."""
    due_soon_days: int = 3
    sms_gateway: str = "logging"
    db_pool_size: int = Field(default=30, ge=1)
    """Connections each worker keeps open. Above it the pool opens overflow connections and closes them
    again on return, so a pool smaller than the worker's concurrency (anyio's 40 threads) reconnects to
    PostgreSQL constantly under load (bench/intake.py measured ~30 new connections a second at 10/20)."""
    db_max_overflow: int = Field(default=10, ge=0)

    # --- notifications: e-mail (SMTP), SMS file drop, links in messages
    base_url: str = "http://127.0.0.1:8000"
    """Public address of the app, used for links in e-mails."""
    email_backend: str = "auto"
    """auto (smtp when XIAOBAO_SMTP_HOST is set, else memory) | smtp | memory | file."""
    email_file_dir: Path | None = None
    """Directory for the file-drop e-mail sender (email_backend=file); one file per message."""
    sms_file_dir: Path | None = None
    """Directory for the file-drop SMS gateway (sms_gateway=file); one file per message."""
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "xiaobao@localhost"
    smtp_tls: str = "starttls"
    """starttls | ssl | none."""
    smtp_timeout_seconds: float = Field(default=15.0, gt=0)
    delivery_max_attempts: int = Field(default=5, ge=1)
    delivery_backoff_seconds: int = Field(default=60, ge=1)
    """First retry delay; doubles after every failure (capped at 6 hours)."""
    supervision_reply_hours: int = Field(default=48, ge=1)
    """Default reply deadline of a 督办 notice."""

    # --- reminders and escalation, per track ("complaint.regulatory", "complaint.contact", "supervision")
    reminder_lead_hours: dict[str, float] = Field(default_factory=dict)
    """Hours before the due moment when the owner is reminded, e.g. '{"complaint.regulatory": 48}'."""
    escalate_after_hours: dict[str, float] = Field(default_factory=dict)
    """Hours after the due moment when an overdue item goes to the superior org's officer."""

    # --- background jobs
    inprocess_jobs: bool = True
    """On SQLite the web app runs the jobs in a background thread; on PostgreSQL `xiaobao worker` does."""
    job_poll_seconds: float = Field(default=5.0, gt=0)
    job_intervals: dict[str, int] = Field(default_factory=dict)
    """Seconds between runs per job name (overrides the code's default): '{"notifications.deliver": 10}'."""
    sweep_batch_size: int = Field(default=500, ge=1)
    sweep_batch_delay_ms: int = Field(default=0, ge=0)
    """Test and benchmark hook: pause inside each sweep batch before it commits."""

    # --- risk radar map
    radar_tile_url: str = ""
    """Base-map tile URL template for the radar map, e.g. 'https://tiles.example/{z}/{x}/{y}.png' (an
    internal tile server); empty (default) = no base layer, the map works offline on a plain background."""
    radar_tile_attribution: str = ""
    """Attribution shown with the tiles (required by most tile providers)."""

    @model_validator(mode="after")
    def _refuse_insecure_secret(self) -> Settings:
        if not self.demo and self.secret_key == INSECURE_DEFAULT_SECRET:
            raise ValueError(
                "XIAOBAO_SECRET_KEY must be set outside demo mode (生产环境必须设置 XIAOBAO_SECRET_KEY); "
                "set XIAOBAO_DEMO=1 only for a local demo."
            )
        if len(self.secret_key) < 16:
            raise ValueError("XIAOBAO_SECRET_KEY must be at least 16 characters (密钥至少 16 个字符)")
        return self

    @property
    def due_soon(self) -> timedelta:
        return timedelta(days=self.due_soon_days)

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"


@lru_cache
def get_settings() -> Settings:
    return Settings()
