"""Files from the project's shared/ folder, which sits next to the repository (../shared) on developer
machines and in CI. A missing file fails the test with a clear message instead of skipping it."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_file(relative: str) -> Path:
    path = SHARED / relative
    if not path.exists():
        pytest.fail(f"missing {path}: the shared folder must sit next to the repository (../shared)")
    return path


DOKSURI_ADVISORIES = "data/doksuri_2023_advisories.csv"
