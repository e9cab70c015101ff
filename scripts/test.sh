#!/usr/bin/env bash
# Installs everything the test suite needs and runs all of it: ruff, mypy, pytest.
# This is the second command of README.md, and exactly what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'

# throwaway database servers on loopback for the SQL store tests, stopped when this script
# exits: PostgreSQL (installed if missing), and MariaDB/MySQL only if one is installed
source scripts/start-postgres.sh
source scripts/start-mariadb.sh

echo "== ruff"
python3 -m ruff check src tests bench
echo "== mypy"
python3 -m mypy
echo "== pytest"
python3 -m pytest -n 2 -q "$@"
