#!/usr/bin/env bash
# Install the Debian packages the lab and tests need, only when something is missing.
set -eu
# fonts-ipafont-gothic: Japanese glyphs for the report screenshot (make demo).
PKGS=(podman runc debootstrap qemu-system-x86 qemu-utils e2fsprogs openssh-client usbguard sudo
      python3-venv git make ca-certificates chromium postgresql-15 postgresql-15-pgaudit
      python3-jmespath auditd fonts-ipafont-gothic)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "all ${#PKGS[@]} packages present"
  exit 0
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed ${#missing[@]} packages"
