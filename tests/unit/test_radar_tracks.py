"""Unit tests for xiaobao.radar.tracks: readers, interpolation, RMW estimate (no DB)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from tests.shared_data import DOKSURI_ADVISORIES, SHARED, shared_file
from xiaobao.radar.tracks import (
    KNOT_TO_MS,
    NM_TO_KM,
    TrackFormatError,
    estimate_rmw,
    interpolate_hourly,
    make_track,
    read_advisories_csv,
    read_cma_best_track,
    read_forecast_csv,
    read_ibtracs_csv,
)

ADVISORIES = SHARED / DOKSURI_ADVISORIES

IBTRACS = """SID,SEASON,NUMBER,BASIN,SUBBASIN,NAME,ISO_TIME,NATURE,LAT,LON,WMO_WIND,WMO_PRES,WMO_AGENCY,USA_WIND,USA_PRES,USA_RMW,CMA_WIND,CMA_PRES
 ,Year, , , , , , ,degrees_north,degrees_east,kts,mb, ,kts,mb,nmile,kts,mb
2023202N13134,2023,50,WP,MM,DOKSURI,2023-07-27 18:00:00,TS,22.7,119.0,95,940,tokyo,100,935,15,97,938
2023202N13134,2023,50,WP,MM,DOKSURI,2023-07-28 00:00:00,TS,24.2,118.8,,,,95,945,,95,945
2023202N13134,2023,50,WP,MM,DOKSURI,2023-07-28 06:00:00,TS,25.3,118.3,,,,,,,60,975
2023210N10150,2023,55,WP,MM,KHANUN,2023-07-28 00:00:00,TS,15.0,140.0,35,1000,tokyo,40,998,30,,
2023210N10150,2023,55,WP,MM,KHANUN,2023-07-28 06:00:00,TS,15.5,139.5,40,996,tokyo,45,994,25,,
"""


def test_ibtracs_reads_each_storm_with_units_converted() -> None:
    tracks = read_ibtracs_csv(IBTRACS)
    assert [t.sid for t in tracks] == ["2023202N13134", "2023210N10150"]
    dok = tracks[0]
    assert dok.name == "DOKSURI" and len(dok) == 3
    assert dok.time[0] == np.datetime64("2023-07-27T18:00:00")
    # auto: WMO first, then USA, then CMA (per row); knots -> m/s
    np.testing.assert_allclose(dok.pressure, [940, 945, 975])
    np.testing.assert_allclose(dok.max_wind, np.array([95, 95, 60]) * KNOT_TO_MS)
    assert dok.wind_averaging == "mixed"
    # USA_RMW in nautical miles -> km; blank is unknown
    assert dok.rmw[0] == pytest.approx(15 * NM_TO_KM)
    assert np.isnan(dok.rmw[1])
    np.testing.assert_allclose(dok.env_pressure, 1010.0)


def test_ibtracs_agency_and_sid_selection() -> None:
    [cma] = read_ibtracs_csv(IBTRACS, agency="cma", sid="2023202N13134")
    np.testing.assert_allclose(cma.pressure, [938, 945, 975])
    assert cma.max_wind[0] == pytest.approx(97 * 0.514444, rel=1e-5)
    assert cma.wind_averaging == "2-min"
    [kh] = read_ibtracs_csv(IBTRACS, agency="wmo", sid="2023210N10150")
    assert kh.wind_averaging == "10-min"
    with pytest.raises(TrackFormatError, match="no track rows"):
        read_ibtracs_csv(IBTRACS, sid="nope")


def test_ibtracs_malformed_names_line_and_field() -> None:
    bad = IBTRACS.replace("24.2,118.8", "24.2x,118.8")
    with pytest.raises(TrackFormatError) as err:
        read_ibtracs_csv(bad)
    assert err.value.line == 4 and err.value.field == "LAT"
    assert "line 4" in str(err.value) and "'LAT'" in str(err.value)
    with pytest.raises(TrackFormatError) as err:
        read_ibtracs_csv(IBTRACS.replace("ISO_TIME", "WHEN"))
    assert err.value.line == 1 and err.value.field == "ISO_TIME"
    with pytest.raises(TrackFormatError) as err:
        read_ibtracs_csv(IBTRACS.replace("2023-07-28 06:00:00,TS,25.3", "2023-07-27 06:00:00,TS,25.3"))
    assert err.value.line == 5 and err.value.field == "ISO_TIME"
    with pytest.raises(TrackFormatError) as err:
        read_ibtracs_csv(IBTRACS.replace(",60,975", ",60,1975"))
    assert err.value.line == 5 and err.value.field == "CMA_PRES"


CMA = """66666 2305 0003 0050 2305 0 6 Doksuri                         20240101
2023072718 5 227 1190 940 52
2023072800 5 241 1188 945 50
2023072806 2 253 1183 975 30
66666 2306 0002 0051 2306 0 6 Khanun                          20240101
2023072800 1 150 1400 1000 18
2023072806 2 155 1395 996 20
"""


def test_cma_best_track_reads_tenths_of_degrees_and_2min_wind() -> None:
    dok, khanun = read_cma_best_track(CMA)
    assert dok.sid == "2305" and dok.name == "Doksuri" and khanun.name == "Khanun"
    np.testing.assert_allclose(dok.lat, [22.7, 24.1, 25.3])
    np.testing.assert_allclose(dok.lon, [119.0, 118.8, 118.3])
    np.testing.assert_allclose(dok.pressure, [940, 945, 975])
    np.testing.assert_allclose(dok.max_wind, [52, 50, 30])
    assert dok.wind_averaging == "2-min"
    assert dok.time[1] == np.datetime64("2023-07-28T00:00:00")
    assert np.isnan(dok.rmw).all()


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        (CMA.replace("2023072800 5 241 1188 945 50", "2023072800 5 241 1188 9x5 50"), 3, "PRES"),
        (CMA.replace("2023072800 5 241", "2023073200 5 241"), 3, "YYYYMMDDHH"),
        (CMA.replace("2023072806 2 253 1183 975 30", "2023072806 2 253 1183"), 4, "PRES"),
        (CMA.replace("0003 0050", "0004 0050"), 1, "NNN"),
        ("2023072718 5 227 1190 940 52\n", 1, "header"),
        (CMA.replace("1190 940 52", "1190 940 520"), 2, "WND"),
    ],
)
def test_cma_malformed(text: str, line: int, field: str) -> None:
    with pytest.raises(TrackFormatError) as err:
        read_cma_best_track(text)
    assert (err.value.line, err.value.field) == (line, field)


FORECAST = """# issued 2023-07-27 12Z
time,lat,lon,pressure,max_wind,rmw,lead_hours
2023-07-27T12:00Z,21.9,119.3,945,48,35,0
2023-07-28T02:00+08:00,22.5,119.1,942,50,,6
2023-07-28T00:00Z,24.0,118.9,940,50,30,12
"""


def test_forecast_csv() -> None:
    t = read_forecast_csv(FORECAST, name="fc")
    assert t.time[1] == np.datetime64("2023-07-27T18:00:00")  # +08:00 converted to UTC
    np.testing.assert_allclose(t.lead_hours, [0, 6, 12])
    assert t.rmw[0] == 35 and np.isnan(t.rmw[1])
    # rmw column is optional
    t2 = read_forecast_csv("time,lat,lon,pressure,max_wind,lead_hours\n2023-07-27T12:00,21.9,119.3,945,48,\n")
    assert np.isnan(t2.rmw[0]) and np.isnan(t2.lead_hours[0])


@pytest.mark.parametrize(
    ("old", "new", "line", "field"),
    [
        ("2023-07-28T00:00Z,24.0", "28/07/2023,24.0", 5, "time"),
        ("2023-07-28T00:00Z,24.0", "2023-07-27T00:00Z,24.0", 5, "time"),
        ("942,50,,6", "942,fifty,,6", 4, "max_wind"),
        ("119.3,945", "119.3,", 3, "pressure"),
    ],
)
def test_forecast_malformed(old: str, new: str, line: int, field: str) -> None:
    text = FORECAST.replace(old, new)
    with pytest.raises(TrackFormatError) as err:
        read_forecast_csv(text)
    assert (err.value.line, err.value.field) == (line, field)


def test_files_are_read_from_paths(tmp_path: Path) -> None:
    p = tmp_path / "CH2023BST.txt"
    p.write_text(CMA, encoding="utf-8")
    assert len(read_cma_best_track(p)) == 2
    with pytest.raises(TrackFormatError) as err:
        read_cma_best_track(CMA.replace("227 1190", "227 11x0"))
    assert "<text>, line 2, field 'LON'" in str(err.value)


def test_interpolate_hourly_linear_and_keeps_off_grid_end() -> None:
    t = make_track(
        [
            datetime(2023, 7, 27, 18, tzinfo=UTC),
            datetime(2023, 7, 28, 0, tzinfo=UTC),
            datetime(2023, 7, 28, 1, 30),
        ],
        lat=[20.0, 26.0, 26.5],
        lon=[120.0, 117.0, 117.0],
        pressure=[940.0, 970.0, 970.0],
        max_wind=[50.0, 20.0, 20.0],
        rmw=[30.0, 60.0, 60.0],
    )
    h = interpolate_hourly(t)
    assert len(h) == 9  # 18..01 hourly plus 01:30
    assert h.time[-1] == np.datetime64("2023-07-28T01:30:00")
    np.testing.assert_allclose(h.time_step_hours[-2:], [1.0, 0.5])
    assert h.lat[3] == pytest.approx(23.0) and h.lon[3] == pytest.approx(118.5)
    assert h.pressure[2] == pytest.approx(950.0) and h.rmw[2] == pytest.approx(40.0)
    assert h.max_wind[6] == pytest.approx(20.0)


def test_interpolate_hourly_crosses_antimeridian_the_short_way() -> None:
    t = make_track(
        np.array(["2023-01-01T00", "2023-01-01T02"], dtype="datetime64[s]"),
        [10, 10],
        [179.0, -179.0],
        [990, 990],
    )
    h = interpolate_hourly(t)
    assert h.lon[1] == pytest.approx(180.0)


def test_estimate_rmw_piecewise_linear_in_pressure() -> None:
    # CLIMADA fit nodes (hPa -> nm): 872 -> 14.907318, 940 -> 15.726927, 980 -> 25.742142, 1021 -> 56.856522
    t = make_track(
        np.arange(7).astype("datetime64[h]"),
        lat=np.zeros(7),
        lon=np.zeros(7),
        pressure=[940, 960, 850, 1030, 945, np.nan, 990],
        rmw=[np.nan, np.nan, np.nan, np.nan, 0.0, np.nan, 42.0],
    )
    r = estimate_rmw(t).rmw
    assert r[0] == pytest.approx(15.726927 * 1.852)  # 29.126 km
    assert r[1] == pytest.approx((15.726927 + 25.742142) / 2 * 1.852)  # 38.400 km
    assert r[2] == pytest.approx(14.907318 * 1.852)  # below the first node: constant
    assert r[3] == pytest.approx(56.856522 * 1.852)  # above the last node: constant
    assert r[4] == pytest.approx((15.726927 + (25.742142 - 15.726927) * 5 / 40) * 1.852)  # 0 is missing
    assert np.isnan(r[5])  # no pressure, no estimate
    assert r[6] == 42.0  # known values kept


def test_doksuri_advisories_load() -> None:
    shared_file(DOKSURI_ADVISORIES)
    t = read_advisories_csv(ADVISORIES)
    assert len(t) == 6 and t.name == "DOKSURI" and t.wind_averaging == "mixed"
    assert t.pressure[3] == pytest.approx(936.5)  # blank pressure interpolated in time (943 -> 930)
    assert t.time[-1] == np.datetime64("2023-07-28T01:55:00")
    with pytest.raises(TrackFormatError) as err:
        read_advisories_csv(
            ADVISORIES.read_text(encoding="utf-8").replace("22.3,119.0,943", "22.3,119.0,9430")
        )
    assert (err.value.line, err.value.field) == (8, "pressure_hpa")


def test_make_track_validates_shapes_and_order() -> None:
    with pytest.raises(ValueError, match="shape"):
        make_track(np.arange(3).astype("datetime64[h]"), [1, 2], [1, 2, 3], [990, 990, 990])
    with pytest.raises(ValueError, match="increasing"):
        make_track(np.array([2, 1]).astype("datetime64[h]"), [1, 2], [1, 2], [990, 990])
