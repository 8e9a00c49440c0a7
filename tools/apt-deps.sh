#!/usr/bin/env bash
# Install the Debian packages the lab and tests need, only when something is missing.
#
# The controller is the user's own machine: we never install services that would start
# policing it. usbguard (its default empty policy would block this machine's own USB
# devices at the next boot) and auditd are only downloaded; the two tools the tests use from
# them (usbguard-rule-parser, ausearch) are unpacked into .cache/hosttools. Service starts
# during installation are held back with policy-rc.d (PostgreSQL is started by the tests
# themselves, in a temporary directory).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
# fonts-ipafont-gothic: Japanese glyphs for the report screenshot (make demo).
# kmod: modprobe reads the 6-17 bus drop-in in a unit test (tests/unit/module_utils/usb/test_buses.py).
# gnupg, openssh-client: signing and verifying report bundles (tests/unit/plugin_utils/test_bundle.py).
PKGS=(podman runc debootstrap qemu-system-x86 qemu-utils e2fsprogs openssh-client sudo
      python3-venv git make ca-certificates procps chromium gnupg postgresql-15 postgresql-15-pgaudit
      python3-jmespath fonts-ipafont-gothic libusbguard1 libauparse0 libaudit1 kmod)
# Downloaded, never installed on the controller (see above); the lab image installs them.
DEBS=(usbguard auditd)

export DEBIAN_FRONTEND=noninteractive
updated=
apt_update() { [ -n "$updated" ] || { apt-get update -qq; updated=1; }; }

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt_update
  policy=/usr/sbin/policy-rc.d
  had_policy=; [ -e "$policy" ] && had_policy=1
  if [ -z "$had_policy" ]; then
    printf '#!/bin/sh\n# pii_guard apt-deps: no service starts during installation\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "installed ${#missing[@]} packages"
else
  echo "all ${#PKGS[@]} packages present"
fi

# The .debs stay in apt's archive: the usb_storage molecule scenario installs usbguard from it
# into a network-less test container.
tools="$root/.cache/hosttools"
for d in "${DEBS[@]}"; do
  deb=$(ls /var/cache/apt/archives/"${d}"_*.deb 2>/dev/null | tail -n 1 || true)
  if [ -z "$deb" ]; then
    apt_update
    (cd /var/cache/apt/archives && apt-get download -qq "$d" >/dev/null)
    deb=$(ls /var/cache/apt/archives/"${d}"_*.deb | tail -n 1)
  fi
  stamp="$tools/.$(basename "$deb").unpacked"
  if [ ! -e "$stamp" ]; then
    mkdir -p "$tools"
    dpkg-deb -x "$deb" "$tools"
    touch "$stamp"
  fi
done
"$tools/usr/bin/usbguard-rule-parser" --help >/dev/null 2>&1 || true
echo "host tools: $tools/usr/bin/usbguard-rule-parser, $tools/sbin/ausearch"
