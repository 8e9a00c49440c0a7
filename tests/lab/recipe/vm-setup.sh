#!/bin/sh
# Runs inside a copy of the lab rootfs to make the VM disk. $1 = the lab public key.
# The VM is reached over SSH as the operator `labop` (passwordless sudo), never as root,
# so that hardening root login cannot cut the lab off.
set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
pubkey=$1

echo pii-lab-vm > /etc/hostname
sed -i 's/pii-lab$/pii-lab-vm/' /etc/hosts
printf '/dev/vda\t/\text4\terrors=remount-ro\t0\t1\n' > /etc/fstab

# labop and its sudoers drop-in come from setup.sh (all endpoints); the VM adds the SSH key.
id labop >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --comment "lab operator" labop
install -d -m 0700 -o labop -g labop /home/labop/.ssh
printf '%s\n' "$pubkey" > /home/labop/.ssh/authorized_keys
chown labop:labop /home/labop/.ssh/authorized_keys
chmod 0600 /home/labop/.ssh/authorized_keys
test -f /etc/sudoers.d/labop

# QEMU user networking hands out DHCP on the virtio NIC; without this sshd never answers.
mkdir -p /etc/systemd/network
printf '[Match]\nName=en*\n\n[Network]\nDHCP=ipv4\n' > /etc/systemd/network/20-lab.network
systemctl enable systemd-networkd.service >/dev/null 2>&1
# Nothing waits for "online": there is no route out of the VM anyway.
systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1 || true
systemctl enable ssh.service >/dev/null 2>&1
# Fresh host keys for the VM disk (the rootfs ones are shared with the containers).
rm -f /etc/ssh/ssh_host_*
ssh-keygen -A >/dev/null

# ---- boot time under TCG (software emulation is ~10-50x slower than hardware) ----
# A small initrd: only what mounting /dev/vda needs (the default MODULES=most is ~36 MB
# that the emulated CPU has to decompress and probe).
printf 'MODULES=list\n' > /etc/initramfs-tools/conf.d/lab-vm.conf
printf 'virtio_pci\nvirtio_blk\next4\n' > /etc/initramfs-tools/modules
update-initramfs -u -k all >/dev/null 2>&1
# CPU frequency drivers are probed per CPU and fail on QEMU's CPU model anyway.
printf 'blacklist powernow_k8\nblacklist acpi_cpufreq\nblacklist pcspkr\n' > /etc/modprobe.d/lab-vm.conf
# PostgreSQL is started by the tests that need it (download_alert), not at every boot.
systemctl disable postgresql.service >/dev/null 2>&1 || true
systemctl mask e2scrub_reap.service >/dev/null 2>&1 || true
# labop's systemd user manager starts at boot and stays: every SSH login would otherwise
# start and stop one (seconds each under TCG).
mkdir -p /var/lib/systemd/linger
touch /var/lib/systemd/linger/labop
