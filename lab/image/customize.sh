#!/bin/sh
# mmdebstrap customize hook: runs on the controller with the finished guest tree as $1.
# Turns a minbase tree into a bootable, sealed lab guest.
set -eu
root=$1

echo labguest >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
printf '/dev/vda\t/\text4\trw,noatime\t0\t1\n' >"$root/etc/fstab"
# Empty machine-id: systemd makes a fresh one at each boot of the guest and of every lab host.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"

# Root logs in by key only: the controller's lab key (LAB_PUBKEY) is the one way in.
mkdir -p "$root/root/.ssh"
printf '%s\n' "$LAB_PUBKEY" >"$root/root/.ssh/authorized_keys"
chmod 700 "$root/root/.ssh"
chmod 600 "$root/root/.ssh/authorized_keys"

# The roles enable and start these themselves; a fresh lab host must not run them already.
for unit in keepalived haproxy nginx mariadb; do
  chroot "$root" systemctl disable "$unit" >/dev/null 2>&1 || true
done
# NetworkManager runs only the hosts whose lab.yml asks for it (labctl enables it there, networkd masked).
chroot "$root" systemctl disable NetworkManager NetworkManager-dispatcher NetworkManager-wait-online \
  >/dev/null 2>&1 || true
chroot "$root" systemctl enable systemd-networkd ssh >/dev/null
# Nothing in the guest waits for a network that is never "online" in the sense of a default route.
chroot "$root" systemctl mask systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer \
  e2scrub_all.timer fstrim.timer >/dev/null
# Every scenario boots its hosts afresh, several at once in the emulated guest, and waits for them all:
# a host booted in 2.5 min, 40% of it in units the lab has no use for (systemd-analyze blame in a host:
# logind 45 s, ipvsadm's rule loader 23 s, journal flush 21 s, utmp 23 s, sysusers 15 s, user
# sessions 11 s). Root logs in by key over ssh without logind (pam_systemd is optional); the image's
# users exist already; the journal stays in /run; the roles have a unit of their own for IPVS rules.
chroot "$root" systemctl mask systemd-logind.service ipvsadm.service systemd-journal-flush.service \
  systemd-update-utmp.service systemd-update-utmp-runlevel.service systemd-sysusers.service \
  systemd-user-sessions.service >/dev/null
# Lab hosts share the guest's ssh host keys (they live in the read-only lower layer).
chroot "$root" ssh-keygen -A >/dev/null

# The initrd was built before our module list was in place on some paths: build it once more, small.
chroot "$root" update-initramfs -u -k all >/dev/null
