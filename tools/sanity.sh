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
cd "$dest"
git init -q . && git add -A >/dev/null 2>&1 || true
# --python: the controller's; the plugins target the same Python on Debian 12 endpoints.
ansible-test sanity --color no --python 3.11 --requirements "$@" plugins/ 2>&1 | tail -n 40
