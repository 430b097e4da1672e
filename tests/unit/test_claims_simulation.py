"""Surge simulation: scenario validation, arrival calibration, determinism, and that it runs the real
dispatcher with its rules."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from xiaobao.claims import dispatch as dsp
from xiaobao.claims import simulation as sim
from xiaobao.core.errors import ValidationFailed

SMALL = {
    "name": "small test surge",
    "landfall": "2023-07-28T09:55:00+08:00",
    "seed": 11,
    "regions": [
        {"city": "泉州市", "share": 0.6, "local_surveyors": 6, "local_desk_staff": 1},
        {"city": "厦门市", "share": 0.4, "local_surveyors": 4, "local_desk_staff": 1},
    ],
    "factories": [{"city": "佛山", "remote_staff": 6}],
    "arrivals": {"total": 300, "days": 1.5, "peak_hours_after_landfall": 4},
    "mix": {"motor": 0.7, "property": 0.28, "rescue_needed": 0.05},
    "handling_minutes": {"contact": 4, "remote_assessment": 20, "onsite_survey": 45},
    "sla": {"contact_minutes": 30, "survey_hours": 48},
}
KEYS = (
    "contacted_within_sla",
    "surveyed_within_sla",
    "mean_contact_minutes",
    "p95_contact_minutes",
    "utilisation",
)


def small(**changes) -> dict:
    d = copy.deepcopy(SMALL)
    d.update(changes)
    return d


def problems(data) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as e:
        sim.parse_scenario(data)
    return {p.field: p.en for p in e.value.problems}


# ---------------------------------------------------------------- scenarios


def test_shipped_scenarios_parse_and_follow_the_seed_figures():
    paths = {p.stem: p for p in sim.shipped_scenarios()}
    assert set(paths) >= {"meranti_2016_quanzhou", "doksuri_2023_fujian"}
    meranti = sim.load_scenario(paths["meranti_2016_quanzhou"])
    assert meranti.total == 15206 and meranti.days == 5 and meranti.landfall_day_factor == 20
    assert meranti.mix_motor == pytest.approx(10655 / 15206, abs=0.001)
    assert [r.city for r in meranti.regions] == ["泉州市"]
    doksuri = sim.load_scenario(paths["doksuri_2023_fujian"])
    remote = sum(f.remote_staff for f in doksuri.factories)
    local_desk = sum(r.local_desk_staff for r in doksuri.regions)
    assert remote == 36 and remote + local_desk == 58
    assert [f.city for f in doksuri.factories] == ["佛山"]
    assert doksuri.survey_sla_h == 48
    assert doksuri.notes and meranti.notes


def test_validation_names_every_bad_field():
    d = small()
    del d["arrivals"]["total"]
    d["landfall"] = "2023-07-28T09:55:00"
    d["regions"][1]["share"] = 1.5
    d["mix"]["motor"] = "lots"
    d["handling_minutes"]["onsite_survey"] = 0
    d["shifts"] = {"factory": [{"window": "all day", "share": 1}], "pilots": []}
    got = problems(d)
    assert "arrivals.total" in got and "missing" in got["arrivals.total"]
    assert "landfall" in got and "offset" in got["landfall"]
    assert "regions[1].share" in got
    assert got["mix.motor"] == "must be a number"
    assert "handling_minutes.onsite_survey" in got
    assert "shifts.factory[0].window" in got
    assert "shifts.pilots" in got


def test_validation_checks_sums_and_unknown_cities():
    d = small()
    d["regions"][0]["share"] = 0.3
    d["regions"].append({"city": "火星市", "share": 0.3, "local_surveyors": 1, "local_desk_staff": 1})
    got = problems(d)
    assert "regions[2].lat" in got
    d = small()
    d["regions"][0]["share"] = 0.3
    assert "regions" in problems(d)
    d = small(mix={"motor": 0.8, "property": 0.5, "rescue_needed": 0})
    assert "mix" in problems(d)
    assert problems([1, 2]) == {"scenario": "must be a JSON object"}
    d = small()
    del d["sla"]
    d["mix"] = 5
    assert problems(d) == {"sla": "required field is missing", "mix": "must be an object"}


def test_unknown_city_with_coordinates_is_fine():
    d = small()
    d["regions"][1] = {
        "city": "Springfield",
        "share": 0.4,
        "local_surveyors": 2,
        "local_desk_staff": 1,
        "lat": 10,
        "lon": 20,
    }
    assert sim.parse_scenario(d).regions[1].lat == 10


def test_bad_json_file(tmp_path):
    p = tmp_path / "s.json"
    p.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValidationFailed) as e:
        sim.load_scenario(p)
    assert e.value.problems[0].field == "scenario"


# ---------------------------------------------------------------- arrivals


def test_rate_profile_is_calibrated():
    sc = sim.parse_scenario(
        small(arrivals={"total": 15206, "days": 5, "peak_hours_after_landfall": 6, "diurnal": False})
    )
    prof = sim.RateProfile(sc)
    t = np.arange(0, 5 * 1440) + 0.5
    rate = prof.rate(t)
    assert rate.sum() == pytest.approx(15206, rel=1e-6)
    assert rate[:1440].sum() / (prof.normal * 1440) == pytest.approx(20, rel=1e-6)
    assert t[rate.argmax()] == pytest.approx(6 * 60, abs=1)
    # Meranti's shape: about two thirds of five days' reports in the first day
    assert 0.6 < rate[:1440].sum() / rate.sum() < 0.72


def test_thinning_produces_the_expected_counts_and_is_seeded():
    sc = sim.parse_scenario(small(arrivals={"total": 5000, "days": 3, "peak_hours_after_landfall": 6}))
    a, prof = sim.generate_reports(sc, 1)
    b, _ = sim.generate_reports(sc, 1)
    c, _ = sim.generate_reports(sc, 2)
    assert a == b and a != c
    assert abs(len(a) - 5000) < 4 * 5000**0.5
    first = sum(1 for r in a if r.t < 1440)
    assert 15 < first / (prof.normal * 1440) < 25
    assert all(x.t <= y.t for x, y in zip(a, a[1:], strict=False))
    motor = sum(1 for r in a if r.line == "motor") / len(a)
    assert 0.66 < motor < 0.74
    assert not any(r.remote and r.rescue for r in a)  # rescue cases always get a surveyor on site


# ---------------------------------------------------------------- the run


def test_same_seed_same_result_other_seed_other_result():
    sc = sim.parse_scenario(small())
    one = sim.simulate(sc)
    assert json.dumps(one, sort_keys=True) == json.dumps(sim.simulate(sc), sort_keys=True)
    other = sim.simulate(sc, seed=12)
    assert other["seed"] == 12 and other["arrivals"] != one["arrivals"]
    for policy in ("local_only", "factory"):
        assert set(KEYS) <= set(one["policies"][policy])


def test_runs_the_real_dispatcher_and_its_rules(monkeypatch):
    calls: list[tuple[list, list, list]] = []
    real = dsp.dispatch

    def spy(items, staff, now, config=dsp.DEFAULT_CONFIG):
        items, staff = list(items), list(staff)
        out = real(items, staff, now, config)
        calls.append((items, staff, out))
        return out

    monkeypatch.setattr(dsp, "dispatch", spy)
    sc = sim.parse_scenario(small())
    result = sim.simulate(sc, policies=("factory",))
    fig = result["policies"]["factory"]
    assert fig["dispatch_calls"] == len(calls) > 0
    assert fig["assignments"] == sum(len(out) for _i, _s, out in calls) == 2 * fig["reports"]
    onsite = remote_desk = 0
    for items, staff, out in calls:
        its = {i.id: i for i in items}
        st = {s.id: s for s in staff}
        for a in out:
            it, s = its[a.item_id], st[a.staff_id]
            assert dsp.eligible(it, s, None)
            if it.kind == dsp.ONSITE_SURVEY:
                onsite += 1
                assert not s.remote and "-survey-" in str(s.id) and it.region in s.regions
            elif s.remote:
                remote_desk += 1
    assert onsite == fig["onsite_surveys"] > 0
    assert remote_desk > 0  # the factory did desk work


def test_factory_staff_help_when_local_desks_are_swamped():
    sc = sim.parse_scenario(small())
    res = sim.simulate(sc)
    local, factory = res["policies"]["local_only"], res["policies"]["factory"]
    assert local["staff"]["factory"] == 0 and factory["staff"]["factory"] == 6
    assert factory["contacted_within_sla"] > local["contacted_within_sla"]
    assert factory["mean_contact_minutes"] < local["mean_contact_minutes"]
    assert factory["rescue_contacted_within_sla"] >= factory["contacted_within_sla"]
    for f in (local, factory):
        assert 0 <= f["utilisation"] <= 1
        assert f["p95_contact_minutes"] >= f["mean_contact_minutes"] * 0.5
        assert sum(r["reports"] for r in f["by_region"].values()) == f["reports"]


def test_no_staff_means_nothing_done_and_counted_as_missed():
    d = small(factories=[])
    for r in d["regions"]:
        r["local_desk_staff"] = 0
    res = sim.simulate(sim.parse_scenario(d), policies=("local_only",))
    f = res["policies"]["local_only"]
    assert f["contacted"] == 0 and f["contacted_within_sla"] == 0 and f["surveyed_within_sla"] == 0


# ---------------------------------------------------------------- CLI


def test_cli_simulate_json_and_errors(tmp_path):
    from xiaobao.cli import app

    good = tmp_path / "s.json"
    good.write_text(json.dumps(SMALL, ensure_ascii=False), encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["claims", "simulate", "--scenario", str(good), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out["policies"]) == {"local_only", "factory"}
    assert all(set(KEYS) <= set(v) for v in out["policies"].values())
    table = runner.invoke(
        app, ["claims", "simulate", "--scenario", str(good), "--format", "table", "--seed", "3"]
    )
    assert table.exit_code == 0 and "local_only" in table.stdout and "seed 3" in table.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(small(sla={"contact_minutes": 30})), encoding="utf-8")
    res = runner.invoke(app, ["claims", "simulate", "--scenario", str(bad)])
    assert res.exit_code == 2 and "sla.survey_hours" in res.stderr
