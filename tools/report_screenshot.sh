#!/usr/bin/env bash
# Headless Chromium screenshot of an audit report's HTML (make demo): proves the self-contained
# file renders without network access. Usage: tools/report_screenshot.sh [REPORT_DIR] (default reports/latest)
set -euo pipefail
dir=$(readlink -f "${1:-reports/latest}")
html="$dir/report.html"
png="$dir/report.png"
[ -f "$html" ] || { echo "error: no $html (run playbooks/audit.yml first)" >&2; exit 1; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "error: chromium missing: apt-get install chromium (tools/apt-deps.sh)" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$png"
# A fresh profile and no background traffic: nothing leaves the machine.
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --user-data-dir="$profile" --window-size=1280,2400 \
  --screenshot="$png" "file://$html" >"$profile/chromium.log" 2>&1 || true
if [ ! -s "$png" ]; then
  echo "error: chromium wrote no screenshot; its log:" >&2
  tail -n 20 "$profile/chromium.log" >&2
  exit 1
fi
echo "Screenshot: $png ($(stat -c %s "$png") bytes)"
