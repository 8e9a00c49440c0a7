#!/usr/bin/env bash
# Run every molecule scenario under extensions/molecule/ (create, converge, idempotence,
# check, verify, destroy), one after the other; fail at the first that fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scenarios=()
for d in extensions/molecule/*/; do
  [ -f "$d/molecule.yml" ] && scenarios+=("$(basename "$d")")
done
[ ${#scenarios[@]} -gt 0 ] || { echo "no molecule scenarios"; exit 0; }
i=0
for s in "${scenarios[@]}"; do
  i=$((i + 1))
  [ "$s" = "windows" ] && { echo "--- [$i/${#scenarios[@]}] $s: skipped (needs a real Windows host, see its README)"; continue; }
  echo "--- [$i/${#scenarios[@]}] molecule test -s $s"
  start=$(date +%s)
  (cd extensions && molecule test -s "$s")
  echo "--- $s passed in $(( $(date +%s) - start )) s"
done
