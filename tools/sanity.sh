#!/usr/bin/env bash
# ansible-test needs the collection at ansible_collections/<ns>/<name>: copy the tracked
# files into a temporary tree (a symlink would make it walk .venv and .cache).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest="$tmp/ansible_collections/pii_guard/safeguards"
mkdir -p "$dest"
git -C "$root" ls-files -co --exclude-standard -z | (cd "$root" && xargs -0 cp --parents -t "$dest" 2>/dev/null || true)
# ansible-test bootstraps pip in its venvs with a script from a host we cannot reach: give it
# an offline equivalent (tools/get_pip_offline.py) under the name it looks for.
pipv=$(python - <<'PY'
import re, ansible_test, pathlib
src = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${pipv//./_}.py"
[ -f "$cache" ] || { mkdir -p "$(dirname "$cache")"; cp "$root/tools/get_pip_offline.py" "$cache"; }
cd "$dest"
git init -q . && git add -A >/dev/null 2>&1 || true
# --python: the controller's; the plugins target the same Python on Debian 12 endpoints.
ansible-test sanity --color no --python 3.11 --venv --requirements "$@" plugins/ 2>&1 | tail -n 40
