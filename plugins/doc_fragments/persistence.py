# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The options and notes of lo_vip, director_vip and nat_route that come from the persistence engine."""

    DOCUMENTATION = r'''
options:
  state:
    description:
      - V(present) makes the change and persists it; V(absent) removes both.
    type: str
    choices: [present, absent]
    default: present
  persistence:
    description:
      - How the change comes back at boot.
      - V(auto) takes the first back end, in this order, that runs this host. V(networkd) when systemd-networkd is
        running or enabled (and not masked); V(networkmanager) when NetworkManager is installed and enabled or running
        (the RHEL family, Fedora, many Ubuntu hosts); V(ifupdown) when C(/etc/network/interfaces) and C(ifup) exist
        and C(networking.service) is enabled (or ifupdown ran this boot). When none runs the task fails, asking for an
        explicit choice.
      - V(networkd) writes one drop-in per address or route on a C(.network) file (see the notes for which).
      - V(ifupdown) writes one file in C(/etc/network/interfaces.d) (see the notes). It is refused, before anything
        changes, on a host that does not run ifupdown, or whose C(/etc/network/interfaces) does not read
        C(/etc/network/interfaces.d), because the file would never be read at boot.
      - V(networkmanager) writes one dispatcher script per device, root's and mode 0755, in
        C(/etc/NetworkManager/dispatcher.d) (C(50-lvs-cluster-...)), which sets the addresses or routes again with
        C(ip ... replace) each time NetworkManager brings a device up, reapplies its profile or renews its DHCP lease.
        The host's connection profiles are not touched. NetworkManager takes away the addresses and routes it did
        not set when a profile is reapplied (C(nmcli device reapply)) or activated again (C(nmcli connection up)), and
        the script sets them again at once; in the lab (NetworkManager 1.42) they were gone for 0.7 to 1 s (IPv6 a
        moment more, for duplicate address detection). A
        script for C(lo) or a tunnel device runs on any device's event (NetworkManager does not bring those up); a
        real device's on that device's events. Refused, before anything changes, on a host that does not run
        NetworkManager. The C(NetworkManager-dispatcher) service must be enabled (it is by default).
      - V(none) changes only the running system.
      - With O(state=absent) the files of every back end are looked for and cleaned, unless V(none).
    type: str
    choices: [auto, networkd, networkmanager, ifupdown, none]
    default: auto
  reload_networkd:
    description:
      - After changing systemd-networkd files, run C(networkctl reload) once when networkd is running, so that
        networkd counts what the files configure as its own (it keeps it when it reconfigures the device, and what was
        removed does not come back).
      - A failed reload is a warning, not a failure; the files are in place for the next boot.
    type: bool
    default: true
notes:
  - "On failure the module rolls back: it changes the kernel first and writes the files last (a file is written only
    once the kernel took what it describes, so a refused change never leaves a file that would bring half of it back at
    boot). When a step fails, every earlier step is undone, last first, and the task fails. RV(rollback) says what was
    undone; the lists of changes in the result (such as RV(changed_files)) name only what is still in effect. An undo
    that fails too is named in RV(rollback) (C(not_restored)) and in the message, and the other undos still run."
'''

    # lo_vip and director_vip.
    VIP = r'''
options:
  addresses:
    description:
      - The virtual IPs, IPv4 or IPv6, with or without a prefix (C(10.98.0.1), C(10.98.0.1/32), C(fd98::1/128)).
        No prefix means a host prefix. IPv6 addresses are given bare; in brackets (C([fd98::1])) they are refused.
      - Unspecified, loopback, multicast, link-local and IPv4-mapped IPv6 addresses are refused, and so is
        the same address twice with different prefixes.
      - With O(state=present) each address ends up with exactly its prefix (the same address with another
        prefix on the device is replaced). With O(state=absent) the address goes whatever its prefix.
    type: list
    elements: str
    required: true
'''
