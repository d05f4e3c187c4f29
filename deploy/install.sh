#!/bin/sh
# The App's install steps, the same in the container image (Dockerfile) and in
# tests/test_deploy.py, which runs this script in a clean directory:
#   sh deploy/install.sh SOURCE VENV
# uv from its hashed lock (requirements/uv.txt), the App's dependencies from
# requirements/app.txt, every file checked against its hash, then the bot itself
# with nothing resolved or fetched (its build backend is in the lock).
set -eu
src=${1:?the source directory (a checkout of model-review)}
venv=${2:?the virtualenv to create}
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --no-cache-dir --no-input --require-hashes \
  --no-deps -r "$src/requirements/uv.txt"
"$venv/bin/uv" pip install --quiet --no-cache --python "$venv/bin/python" \
  --require-hashes -r "$src/requirements/app.txt"
"$venv/bin/uv" pip install --quiet --no-cache --python "$venv/bin/python" \
  --no-deps --no-build-isolation "$src"
