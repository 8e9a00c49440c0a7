#!/usr/bin/env bash
# Run a few long test steps side by side, each in its own "lane", and fail if any lane failed.
#   tools/lanes.sh NAME 'COMMAND' [NAME 'COMMAND' ...]
# Why: the VM suite runs QEMU under TCG and keeps about three quarters of one core busy on these
# 2-core machines (measured on Debian 13: 2,384 CPU-s over 3,219 s), so the container steps
# (integration, molecule) fit beside it instead of after it.
# Every line a lane prints is shown as it comes, prefixed with the lane's name, and kept whole in
# .cache/lanes/NAME.log. Lanes are not stopped when another fails (each one's result is worth
# having); at the end each lane's result and time is printed, with the tail of a failed lane's log.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] && [ $(($# % 2)) -eq 0 ] || { echo "usage: $0 NAME 'COMMAND' [NAME 'COMMAND' ...]" >&2; exit 2; }
logdir=.cache/lanes
mkdir -p "$logdir"
rm -f "$logdir"/*.result
names=() pids=()
# A lane's own exit status, not sed's: pipefail inside the lane's subshell.
run_lane() {
  local name=$1 cmd=$2 start rc=0
  start=$(date +%s)
  set -o pipefail
  bash -c "$cmd" 2>&1 | tee "$logdir/$name.log" | sed -u "s/^/[$name] /" || rc=$?
  echo "$rc $(($(date +%s) - start))" > "$logdir/$name.result"
  echo "==> lane $name ended (exit $rc) after $(($(date +%s) - start)) s"
  return "$rc"
}
stop_all() {
  for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
}
trap 'stop_all; exit 130' INT TERM
# Each lane in its own process group, so that an interrupt stops its whole tree.
set -m
while [ $# -gt 0 ]; do
  names+=("$1")
  run_lane "$1" "$2" &
  pids+=("$!")
  echo "==> lane $1 started: $2"
  shift 2
done
set +m
failed=0
results=()
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || true
  read -r rc secs < "$logdir/${names[$i]}.result" || { rc=1; secs=?; }
  if [ "$rc" -eq 0 ]; then
    results+=("lane ${names[$i]}: passed in ${secs} s")
  else
    failed=1
    results+=("lane ${names[$i]}: FAILED (exit ${rc}) after ${secs} s, whole log: $logdir/${names[$i]}.log")
  fi
done
echo
for i in "${!names[@]}"; do
  case ${results[$i]} in
    *FAILED*)
      echo "--- last 40 lines of lane ${names[$i]}"
      tail -n 40 "$logdir/${names[$i]}.log"
      ;;
  esac
done
printf '%s\n' "${results[@]}"
exit "$failed"
