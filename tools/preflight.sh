#!/usr/bin/env bash
# Stop at once, with exactly what to do, when this is not the machine the lab is built for.
set -u
if [ "$(id -u)" != 0 ]; then
  echo "error: run as root (the lab uses podman, debootstrap and QEMU as root): sudo make ..." >&2
  exit 1
fi
. /etc/os-release 2>/dev/null || true
if [ "${ID:-}" != debian ] || [ "${VERSION_ID:-}" != 12 ]; then
  echo "error: this needs Debian 12 (bookworm); found ${PRETTY_NAME:-unknown}." >&2
  echo "On another system install: python3 (3.11+), python3-venv, podman, runc, debootstrap," >&2
  echo "qemu-system-x86, qemu-utils, e2fsprogs, openssh-client, usbguard, sudo; then run the" >&2
  echo "Makefile targets again with SKIP_PREFLIGHT=1." >&2
  [ "${SKIP_PREFLIGHT:-}" = 1 ] || exit 1
fi
command -v python3 >/dev/null || { echo "error: python3 missing: apt-get install python3 python3-venv" >&2; exit 1; }
exit 0
