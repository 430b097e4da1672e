"""Settings, read from XIAOBAO_* environment variables (and an optional .env file)."""

from __future__ import annotations

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
    due_soon_days: int = 3
    sms_gateway: str = "logging"
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)

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
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"


@lru_cache
def get_settings() -> Settings:
    return Settings()
