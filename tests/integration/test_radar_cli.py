"""`xiaobao radar run`: track + sites → ranked list with the visit plan; no database or settings needed."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.shared_data import DOKSURI_ADVISORIES, shared_file
from xiaobao.cli import app
from xiaobao.radar import demo


@pytest.fixture
def advisories() -> Path:
    return shared_file(DOKSURI_ADVISORIES)


def test_radar_run_csv_without_database(
    tmp_path: Path, advisories: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a broken database URL proves the command never touches settings or the database
    monkeypatch.setenv("XIAOBAO_DATABASE_URL", "postgresql://nobody@nowhere.invalid/none")
    sites = demo.write_sites_csv(tmp_path / "sites.csv", n=1500)
    with sites.open("a", encoding="utf-8") as fh:
        fh.write("坏行,北京市朝阳区,,,,,,100,,,,,,,\n")
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(
        app,
        [
            "radar",
            "run",
            "--track",
            str(advisories),
            "--format",
            "advisories",
            "--sites",
            str(sites),
            "--out",
            str(out),
            "--inspectors",
            "2",
            "--visits-per-day",
            "4",
            "--now",
            "2023-07-26T08:00+08:00",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "1500 sites (1 row errors)" in res.output and "第1502行" in res.output
    with out.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1500
    assert [int(r["rank"]) for r in rows] == list(range(1, 1501))
    losses = [float(r["expected_loss"]) for r in rows]
    assert losses == sorted(losses, reverse=True)
    planned = [r for r in rows if r["status"] == "planned"]
    assert planned and all(r["visit_end"] <= r["gale_arrival"] for r in planned)  # same local format
    assert all(r["reason"] for r in rows if r["status"] == "unreachable")
    assert {r["status"] for r in rows} <= {"planned", "unreachable", "not_needed"}


def test_radar_run_xlsx_and_errors(tmp_path: Path, advisories: Path) -> None:
    sites = demo.write_sites_csv(tmp_path / "sites.csv", n=200)
    out = tmp_path / "out.xlsx"
    res = CliRunner().invoke(
        app,
        [
            "radar",
            "run",
            "--track",
            str(advisories),
            "--sites",
            str(sites),
            "--out",
            str(out),
            "--model",
            "H80",
        ],
    )
    assert res.exit_code == 0, res.output
    wb = load_workbook(out)
    ws = wb.active
    assert ws is not None
    header = [c.value for c in ws[1]]
    assert header[:2] == ["rank", "name"] and "gale_arrival" in header and ws.max_row == 201
    wb.close()

    bad_track = tmp_path / "t.csv"
    bad_track.write_text(
        "time_utc,lat,lon,pressure_hpa,wind_ms\n2023-07-27T00:00Z,x,120,950,40\n", encoding="utf-8"
    )
    res = CliRunner().invoke(
        app, ["radar", "run", "--track", str(bad_track), "--sites", str(sites), "--out", str(out)]
    )
    assert res.exit_code == 2 and "line 2" in res.output and "lat" in res.output
    res = CliRunner().invoke(
        app,
        ["radar", "run", "--track", str(advisories), "--sites", str(sites), "--out", str(tmp_path / "o.txt")],
    )
    assert res.exit_code != 0
