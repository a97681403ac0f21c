#!/usr/bin/env bash
# `make test`: every test. Swift tests on SQLite, the same tests on a real PostgreSQL started in
# a temporary directory, then the end-to-end tests against a real `dcdn dev`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
if ! command -v swift >/dev/null 2>&1; then export PATH=/opt/swift/usr/bin:$PATH; fi

echo "== build"
swift build --build-tests

echo "== Swift tests on SQLite"
swift test --skip-build

echo "== Swift tests on PostgreSQL (the suites that touch a database)"
scripts/with-postgres.sh swift test --skip-build --filter CoordinatorTests

echo "== end-to-end tests"
venv=Tests/e2e/.venv
if [ ! -x "$venv/bin/pytest" ] || ! cmp -s Tests/e2e/requirements.txt "$venv/requirements.txt"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r Tests/e2e/requirements.txt
  cp Tests/e2e/requirements.txt "$venv/requirements.txt"
fi
scripts/with-postgres.sh "$venv/bin/pytest" -q Tests/e2e "$@"

echo "== benchmarks, smoke mode (each runs and measures the intended responses; no speed is judged)"
scripts/bench/smoke.sh
