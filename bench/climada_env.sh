#!/usr/bin/env bash
# Creates bench/.venv-climada: a separate Python 3.11 environment with CLIMADA 6.1.0, used ONLY by
# bench/radar.py to compute the reference wind field. CLIMADA is GPL-3.0 and is never a dependency of
# xiaobao: nothing in src/ imports it, and this venv is gitignored.
#
# CLIMADA declares GDAL as a requirement; the Python GDAL bindings need a system libgdal and headers,
# so they are left out. Everything else comes as manylinux wheels from PyPI (rasterio, fiona, pyproj,
# shapely, netCDF4, h5py, tables bundle their own C libraries). The wind-field code path
# (TropCyclone.from_tracks) never touches osgeo. Pins are versions that have cp311 wheels and work
# together (numpy 1.26 for numba/sparse/tables compatibility).
#
# Idempotent: re-running it keeps an existing venv, (re)installs only what is missing, and re-checks.
# Usage: bash bench/climada_env.sh            (needs python3.11 on PATH, PyPI reachable)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${CLIMADA_VENV:-$HERE/.venv-climada}"
PY311="${PYTHON311:-python3.11}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY311" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install "pip==24.3.1" "setuptools==75.6.0" "wheel==0.45.1"

# 1. CLIMADA itself, without its declared requirements (they include gdal).
"${PIP[@]}" install --no-deps "climada==6.1.0"

# 2. Its requirements (climada-6.1.0.dist-info/METADATA, Requires-Dist) except gdal, pinned.
"${PIP[@]}" install \
  "numpy==1.26.4" "scipy==1.13.1" "pandas==2.2.3" "xarray==2024.11.0" \
  "bayesian-optimization==2.0.0" "bottleneck==1.4.2" "cartopy==0.24.1" "cfgrib==0.9.14.1" \
  "contextily==1.6.2" "dask==2024.11.2" "deprecation==2.1.0" "fiona==1.10.1" "geopandas==1.0.1" \
  "shapely==2.0.6" "h5py==3.12.1" "haversine==2.8.1" "matplotlib==3.9.3" "netcdf4==1.7.2" \
  "numba==0.60.0" "openpyxl==3.1.5" "overpy==0.7" "pathos==0.3.3" "peewee==3.17.8" \
  "pillow==11.0.0" "pint==0.24.4" "pyarrow==18.1.0" "pycountry==24.6.1" "pyproj==3.7.0" \
  "rasterio==1.4.3" "salib==1.5.1" "scikit-learn==1.5.2" "seaborn==0.13.2" "sparse==0.15.4" \
  "statsmodels==0.14.4" "tables==3.10.1" "tabulate==0.9.0" "tqdm==4.67.1" "xlrd==2.0.1" \
  "xlsxwriter==3.2.0" "psutil==6.1.0"

# 3. Check: the import works and a tiny wind field can be computed offline.
#    On import CLIMADA creates ~/climada/{data,demo} and copies its packaged system/demo files there
#    (climada.setup_climada_data; paths from climada.conf "local_data"). It downloads nothing for
#    TropCyclone.from_tracks with ignore_distance_to_coast=True. To keep the user's home untouched,
#    CLIMADA always runs with HOME=$VENV/home (bench/radar.py does the same).
mkdir -p "$VENV/home"
HOME="$VENV/home" "$VENV/bin/python" "$HERE/_climada_check.py"
echo "climada venv ready: $VENV"
