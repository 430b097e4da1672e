"""Risk radar (风险雷达): tropical-cyclone hazard and loss core.

Pure modules only (numpy, openpyxl; no database, no settings, no web imports):

- ``tracks``: the ``Track`` container, readers (IBTrACS CSV, CMA best track, forecast CSV, the Doksuri
  advisories file), hourly interpolation and the radius-of-maximum-wind estimate.
- ``windfield``: Holland (1980) / Holland (2008) parametric wind fields with translation asymmetry, per site
  maximum wind, gale arrival and hours above gale.
- ``vulnerability``: Emanuel (2011) impact function and per-policy expected loss.
- ``sites``: site import (.csv/.xlsx) with per-row errors and approximate geocoding; ``loss``: per-site wind
  and expected loss; ``plan``: ranking and the per-branch visit plan; ``run``: one CLI run; ``demo``: a
  generated Fujian portfolio.
"""
