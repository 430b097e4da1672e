"""Surge simulation benchmark (issue 6): the shipped Doksuri 2023 Fujian scenario, both policies.

No database. Runs ``claims.simulation.simulate`` on ``claims/data/scenarios/doksuri_2023_fujian.json`` with
the scenario's seed (``--seed N`` to change it): the same arrivals worked off by the real dispatcher with the
region's own staff only (``local_only``) and with the Foshan factory's 36 remote staff added (``factory``).
Progress and the per-policy figures go to stderr; the last line on stdout is
``surge: local_only_contacted=<x> factory_contacted=<x> factory_surveyed=<x>`` (shares of reports contacted
within the scenario's contact SLA, and assessed within 48 hours).
Targets: factory contacted = 1.00, factory surveyed >= 0.96.
"""

from __future__ import annotations

import argparse
import sys
import time

from xiaobao.claims.simulation import SCENARIO_DIR, load_scenario, simulate, table_lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--scenario", default=str(SCENARIO_DIR / "doksuri_2023_fujian.json"))
    args = ap.parse_args()
    sc = load_scenario(args.scenario)
    t = time.perf_counter()
    result = simulate(sc, seed=args.seed)
    elapsed = time.perf_counter() - t
    for line in table_lines(result):
        print(line, file=sys.stderr)
    for name, f in result["policies"].items():
        print(
            f"{name}: staff {f['staff']}, utilisation {f['utilisation_by_group']}, max contact "
            f"{f['max_contact_minutes']} min, p95 survey {f['p95_survey_hours']} h, dispatch calls "
            f"{f['dispatch_calls']}",
            file=sys.stderr,
        )
    print(f"simulated both policies in {elapsed:.1f} s", file=sys.stderr)
    lo, fa = result["policies"]["local_only"], result["policies"]["factory"]
    print(
        f"surge: local_only_contacted={lo['contacted_within_sla']:.2f} "
        f"factory_contacted={fa['contacted_within_sla']:.2f} factory_surveyed={fa['surveyed_within_sla']:.2f}"
    )


if __name__ == "__main__":
    main()
