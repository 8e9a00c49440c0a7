#!/usr/bin/env bash
# Run every molecule scenario under extensions/molecule/ (create, converge, idempotence,
# check, verify, destroy) on every lab release (Debian 12 and 13), one after the other;
# fail at the first that fails. Same scenarios, same testinfra assertions on each release:
# the release reaches molecule.yml (image, platform name, PostgreSQL major) and the tests
# through the variables of `tests/lab/lab.py --release R env`.
#   MOLECULE_RELEASES="13" tools/molecule-all.sh      one release only
#   tools/molecule-all.sh usb_storage                 one scenario (on every release)
#   PII_GUARD_MOLECULE_PREFIX=me- tools/molecule-all.sh   container names prefixed (several
#                                                     checkouts on one machine must not share them)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
read -r -a releases <<< "${MOLECULE_RELEASES:-12 13}"
scenarios=()
if [ $# -gt 0 ]; then
  scenarios=("$@")
else
  for d in extensions/molecule/*/; do
    [ -f "$d/molecule.yml" ] && scenarios+=("$(basename "$d")")
  done
fi
[ ${#scenarios[@]} -gt 0 ] || { echo "no molecule scenarios"; exit 0; }
total=$(( ${#scenarios[@]} * ${#releases[@]} ))
i=0
all_start=$(date +%s)
for r in "${releases[@]}"; do
  env_lines=$("$PY" tests/lab/lab.py --release "$r" env)
  while IFS='=' read -r key value; do export "$key=$value"; done <<< "$env_lines"
  "$PY" tests/lab/lab.py image
  # The image must be the release it is tagged as (a wrong tag would test 12 twice).
  got=$(podman run --rm --network none "$PII_GUARD_LAB_IMAGE" cat /etc/debian_version)
  [ "${got%%.*}" = "$PII_GUARD_LAB_RELEASE" ] || { echo "error: $PII_GUARD_LAB_IMAGE is Debian $got, not $PII_GUARD_LAB_RELEASE"; exit 1; }
  rel_start=$(date +%s)
  for s in "${scenarios[@]}"; do
    i=$((i + 1))
    if [ "$s" = "windows" ]; then
      echo "--- [$i/$total] $s: skipped (needs a real Windows host, see its README)"
      continue
    fi
    echo "--- [$i/$total] Debian $PII_GUARD_LAB_RELEASE ($PII_GUARD_LAB_SUITE): molecule test -s $s"
    start=$(date +%s)
    # Molecule keys its state directory by the project directory's *name* ("extensions"), so
    # every checkout and both releases would share ~/.ansible/tmp/molecule.XXXX.<scenario>,
    # and one run's destroy removes another's container. One directory per checkout,
    # release and scenario instead.
    export MOLECULE_EPHEMERAL_DIRECTORY="$PWD/.cache/molecule/$PII_GUARD_LAB_RELEASE/$s"
    (cd extensions && molecule test -s "$s")
    echo "--- Debian $PII_GUARD_LAB_RELEASE $s passed in $(( $(date +%s) - start )) s"
  done
  echo "--- Debian $PII_GUARD_LAB_RELEASE: every scenario passed in $(( $(date +%s) - rel_start )) s"
done
echo "--- molecule on Debian ${releases[*]}: $(( $(date +%s) - all_start )) s"
