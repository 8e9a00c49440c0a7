#!/bin/sh
# Runs inside the freshly bootstrapped rootfs (chroot) once per recipe digest.
# It prepares ONE rootfs that serves both the podman endpoints and the VM disk.
set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

echo pii-lab > /etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\tpii-lab\n::1\tlocalhost ip6-localhost ip6-loopback\n' > /etc/hosts

# Every boot (container or VM) gets its own machine id.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id

# USBGuard is installed but NOT active in the lab base: role tests start from a known,
# permissive state (no device blocked) and the usb_storage role is what turns it on.
# (Its daemon cannot run in the podman endpoints at all: this host has no /sys/bus/usb.)
systemctl disable usbguard.service usbguard-dbus.service >/dev/null 2>&1 || true
: > /etc/usbguard/rules.conf
chmod 0600 /etc/usbguard/rules.conf

# Units that cannot work inside a container (the kernel audit subsystem is not namespaced;
# a container must never load audit rules into the host kernel). They still run in the VM.
# auditd 4.x (Debian 13) loads the rules in a unit of its own, audit-rules.service; on
# Debian 12 (auditd 3.0.9) auditd.service does it and the drop-in for audit-rules is inert.
for unit in auditd.service audit-rules.service; do
  mkdir -p "/etc/systemd/system/$unit.d"
  printf '[Unit]\nConditionVirtualization=!container\n' > "/etc/systemd/system/$unit.d/lab-no-container.conf"
done

# Nothing in the lab downloads on its own (no network): no apt timers, no man-db rebuilds.
for unit in apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer; do
  systemctl mask "$unit" >/dev/null 2>&1 || true
done

# The operator account, as on the VM: an approved, named administrator on every endpoint
# (the admin_privileges role must never leave a host with no admin but root).
id labop >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --comment "lab operator" labop
printf 'labop ALL=(ALL:ALL) NOPASSWD: ALL\n' > /etc/sudoers.d/labop
chmod 0440 /etc/sudoers.d/labop
visudo -cf /etc/sudoers.d/labop >/dev/null

# Synthetic personal data (no real person): the data set the lab's download alert watches
# (inventories/lab/group_vars/pii_data.yml). 150 one-record files, so reading them all passes
# a threshold of 100.
mkdir -p /srv/pii/residents
i=1
while [ "$i" -le 150 ]; do
  n=$(printf %04d "$i")
  printf 'resident_id,name,city\n%s,Lab Resident %s,Chiyoda\n' "$n" "$n" > "/srv/pii/residents/resident-$n.csv"
  i=$((i + 1))
done

# The journal is where alerts go; keep it small.
mkdir -p /etc/systemd/journald.conf.d
printf '[Journal]\nSystemMaxUse=64M\n' > /etc/systemd/journald.conf.d/lab.conf

apt-get clean
rm -rf /var/cache/apt/*.bin /tmp/* /var/tmp/*
