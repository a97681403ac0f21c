#!/usr/bin/env bash
# Every benchmark in smoke mode (see lib.sh): the debug build, about a second per measurement, a
# tiny load. Fails when a script no longer runs to the end or measured anything but the intended
# responses (a challenge page, an error, a lost query). Never judges a speed. `make test` runs it.
# Usage: scripts/bench/smoke.sh [NAME...]    (default: every scripts/bench/*.sh but lib and smoke)
set -uo pipefail
cd "$(dirname "$0")/../.."
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for script in scripts/bench/*.sh; do
    name=$(basename "$script" .sh)
    [ "$name" = lib ] || [ "$name" = smoke ] || names+=("$name")
  done
fi
failed=()
for name in "${names[@]}"; do
  log=$(mktemp "/tmp/dcdn-bench-smoke-$name.XXXXXX")
  started=$SECONDS
  if BENCH_SMOKE=1 timeout 600 "scripts/bench/$name.sh" >"$log" 2>&1; then
    echo "bench smoke: $name ok ($((SECONDS - started)) s)"
    rm -f "$log"
  else
    echo "bench smoke: $name FAILED ($((SECONDS - started)) s); its output:"
    tail -n 40 "$log"
    failed+=("$name")
  fi
done
[ ${#failed[@]} -eq 0 ] || { echo "bench smoke failed: ${failed[*]}"; exit 1; }
