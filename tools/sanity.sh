#!/usr/bin/env bash
# ansible-test needs the collection at ansible_collections/<ns>/<name>: mirror the tracked
# (and new, not ignored) files into .cache/sanity/ansible_collections/pii_guard/safeguards
# (a symlink would make it walk .venv and .cache). The tree is kept between runs so that
# ansible-test's delegation virtualenv under its tests/output/ is reused, not rebuilt
# (its per-test virtualenvs are cached in ~/.ansible/test/venv by ansible-test itself).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.cache/sanity/ansible_collections/pii_guard/safeguards"
mkdir -p "$dest"
# Sync: drop everything but ansible-test's own output and git dir, then copy afresh.
find "$dest" -mindepth 1 -maxdepth 1 ! -name tests ! -name .git -exec rm -rf {} +
[ -d "$dest/tests" ] && find "$dest/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
git -C "$root" ls-files -co --exclude-standard -z \
  | (cd "$root" && xargs -0 cp --parents -t "$dest" 2>/dev/null || true)
# ansible-test downloads a get-pip script from a host these machines cannot reach unless it is
# cached in ~/.ansible/test/cache: put the offline stand-in there for the pip version(s) the
# installed ansible-test asks for (a new or empty HOME gets it too).
python "$root/tools/sanity_setup.py" >/dev/null
cd "$dest"
[ -d .git ] || git init -q .
git add -A >/dev/null 2>&1 || true
# --python: the controller's; the plugins target the same Python on Debian 12 endpoints.
# --requirements: ansible-test installs what each sanity test needs (PyPI only).
set +e
ansible-test sanity --color no --python 3.11 --requirements "$@" plugins/ > "$dest/../sanity.log" 2>&1
rc=$?
set -e
grep -v '^Running sanity test\|^Installing\|^Collecting\|^  ' "$dest/../sanity.log" | tail -n 60 || true
echo "ansible-test sanity: $(grep -c '^Running sanity test' "$dest/../sanity.log") tests run, exit $rc (full log: $dest/../sanity.log)"
exit $rc
