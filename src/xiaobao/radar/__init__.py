"""Risk radar (风险雷达): tropical-cyclone hazard and loss core.

Pure numeric modules only (numpy; no database, no web imports):

- ``tracks``: the ``Track`` container, readers (IBTrACS CSV, CMA best track, forecast CSV, the Doksuri
  advisories file), hourly interpolation and the radius-of-maximum-wind estimate.
- ``windfield``: Holland (1980) / Holland (2008) parametric wind fields with translation asymmetry, per site
  maximum wind, gale arrival and hours above gale.
- ``vulnerability``: Emanuel (2011) impact function and per-policy expected loss.
"""
