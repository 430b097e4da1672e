"""Settings: XIAOBAO_* environment variables, and the refusal of an insecure secret."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from xiaobao.config import INSECURE_DEFAULT_SECRET, Settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No XIAOBAO_* variables from the outer environment and no .env file in the working directory."""
    for name in list(os.environ):
        if name.startswith("XIAOBAO_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_insecure_default_secret_refused_outside_demo_mode() -> None:
    with pytest.raises(ValidationError) as e:
        Settings()
    assert "XIAOBAO_SECRET_KEY" in str(e.value)
    with pytest.raises(ValidationError):
        Settings(secret_key=INSECURE_DEFAULT_SECRET, demo=False)


def test_insecure_default_secret_accepted_in_demo_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XIAOBAO_DEMO", "1")
    s = Settings()
    assert s.demo is True
    assert s.secret_key == INSECURE_DEFAULT_SECRET


@pytest.mark.parametrize("demo", [False, True])
def test_short_secret_refused(demo: bool) -> None:
    with pytest.raises(ValidationError) as e:
        Settings(secret_key="too-short", demo=demo)
    assert "16" in str(e.value)


def test_a_real_secret_is_accepted() -> None:
    s = Settings(secret_key="x" * 16)
    assert s.demo is False


def test_env_vars_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {
        "XIAOBAO_DATABASE_URL": "postgresql://xb@db.internal/xiaobao",
        "XIAOBAO_SECRET_KEY": "an-actual-secret-of-some-length",
        "XIAOBAO_DATA_DIR": str(tmp_path / "data"),
        "XIAOBAO_COOKIE_SECURE": "1",
        "XIAOBAO_CONTACT_TARGET_WORKDAYS": "2",
        "XIAOBAO_DUE_SOON_DAYS": "5",
        "XIAOBAO_SMS_GATEWAY": "logging",
        "XIAOBAO_LOGIN_MAX_FAILURES": "7",
        "XIAOBAO_SESSION_HOURS": "8",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    s = Settings()
    assert s.database_url == "postgresql://xb@db.internal/xiaobao"
    assert s.secret_key == "an-actual-secret-of-some-length"
    assert s.data_dir == tmp_path / "data"
    assert s.attachments_dir == tmp_path / "data" / "attachments"
    assert s.cookie_secure is True
    assert s.contact_target_workdays == 2
    assert s.due_soon_days == 5
    assert s.login_max_failures == 7
    assert s.session_hours == 8
    assert s.demo is False


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("XIAOBAO_SECRET_KEY=from-the-dotenv-file-123\nXIAOBAO_DUE_SOON_DAYS=4\n")
    s = Settings()
    assert s.secret_key == "from-the-dotenv-file-123"
    assert s.due_soon_days == 4


def test_environment_wins_over_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("XIAOBAO_SECRET_KEY=from-the-dotenv-file-123\n")
    monkeypatch.setenv("XIAOBAO_SECRET_KEY", "from-the-environment-456")
    assert Settings().secret_key == "from-the-environment-456"


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XIAOBAO_SECRET_KEY", "x" * 20)
    monkeypatch.setenv("XIAOBAO_DB_POOL_SIZE", "0")
    with pytest.raises(ValidationError) as e:
        Settings()
    assert "db_pool_size" in str(e.value)
