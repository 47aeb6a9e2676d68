#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: lo_vip
short_description: Bind LVS virtual IPs as host addresses on lo, tunl0 or ip6tnl0 of a real server
version_added: 0.1.0
description:
  - Adds virtual IPs as host addresses (C(/32), C(/128)) to C(lo) for LVS-DR, or to C(tunl0) (IPv4) or
    C(ip6tnl0) (IPv6) for LVS-TUN, so that the real server accepts packets the director forwards to the
    virtual IP. Tunnel devices are brought up.
  - Several addresses in one call, over one netlink session (pyroute2); C(ip) is not run.
  - Makes the addresses persistent the way the host's network stack expects (systemd-networkd, NetworkManager or
    ifupdown, see O(persistence)), and removes them and their persistence with O(state=absent).
  - Pair it with M(lvs.cluster.arp_sysctl), or the real server answers ARP for the virtual IP.
attributes:
  check_mode:
    support: full
    description: Reports what would change; touches neither the device nor the files.
  diff_mode:
    support: full
    description: The addresses of lo or the tunnel device, and each drop-in, dispatcher script or ifupdown file written or removed.
  platform:
    support: full
    platforms: linux
    description: Linux only (rtnetlink).
options:
  device:
    description:
      - V(lo) for LVS-DR, both families.
      - V(tunl0), the fallback device of the C(ipip) kernel module, for IPv4 LVS-TUN. If the module is not
        loaded the task fails and says so.
      - V(ip6tnl0), the fallback device of the C(ip6_tunnel) kernel module, for IPv6 LVS-TUN.
      - Other devices are refused on purpose. A virtual IP on an Ethernet device is answered for in ARP,
        which takes the virtual IP away from the director.
    type: str
    choices: [lo, tunl0, ip6tnl0]
    default: lo
  allow_non_host_prefix:
    description:
      - Accept prefixes other than C(/32) and C(/128). Rarely right, because on C(lo) a C(/24) makes every address
        of the C(/24) local to the host.
    type: bool
    default: false
extends_documentation_fragment:
  - lvs.cluster.persistence
  - lvs.cluster.persistence.VIP
notes:
  - "O(persistence=networkd) writes one drop-in per address, C(/etc/systemd/network/<file>.network.d/lvs-vip-<address>-<prefix>.conf),
    with an C([Address]) section. C(<file>) is the C(.network) file systemd-networkd already uses for the device when one names
    it in C([Match] Name=); otherwise the module creates C(/etc/systemd/network/05-lvs-cluster-<device>.network), which matches
    only the device and sets C(KeepConfiguration=yes) so that networkd never removes addresses it did not configure
    (C(127.0.0.1/8), C(::1)). With O(state=absent) the base file goes with its last drop-in."
  - "O(persistence=ifupdown) writes C(/etc/network/interfaces.d/lvs-cluster-vip-<device>) with one
    C(iface <device> inet|inet6 static) stanza per address."
  - "O(persistence=networkmanager) writes C(/etc/NetworkManager/dispatcher.d/50-lvs-cluster-vip-<device>), which brings
    the device up and sets the addresses with C(ip address replace) on any device's C(up) or C(reapply) event:
    NetworkManager does not bring C(lo) or the tunnel devices up itself, so the addresses come back as soon as the
    host's first device comes up at boot. The host's connection profiles are not touched."
  - "Why drop-ins for systemd-networkd: networkd applies only the first matching C(.network) file
    (in file-name order) to a link, so a second file for C(lo) would either hide the host's own or be
    hidden by it. One drop-in per address lets separate plays manage separate addresses without
    rewriting a shared file. A file that matches the device only by a pattern (C(Name=*)) and sorts
    before C(05-lvs-cluster-<device>.network) is an error, because drop-ins on it would add the
    addresses to every link it matches."
  - "Runtime and persistence agree: the address is added over netlink with the prefix and global scope
    networkd would use, and the drop-in says the same, so reloading or restarting networkd keeps it and a
    reboot brings it back. Only C([Match] Name=) is looked at to find the file networkd uses."
  - "ifupdown applies every stanza of an interface when it brings the interface up (see interfaces(5)), so
    the stanzas sit next to Debian's C(iface lo inet loopback); the file has its own C(auto <device>) line,
    because the interfaces file the ifupdown package installs has no C(auto lo) (a second one is harmless)."
  - "For O(device=tunl0) and O(device=ip6tnl0) the kernel module must be loaded at boot too, for example
    with a file in C(/etc/modules-load.d/); this module does not load kernel modules."
  - With O(state=present) an address that is bound to another network interface of the host (not C(lo), C(tunl0),
    C(ip6tnl0)) is refused before anything changes, because that interface answers ARP for it and takes the virtual IP
    away from the director.
requirements:
  - pyroute2 >= 0.7.2 on the target
  - Linux, run as root (CAP_NET_ADMIN)
seealso:
  - module: lvs.cluster.arp_sysctl
author:
  - lvs.cluster contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: LVS-DR real server, IPv4 and IPv6 virtual IPs on lo
  lvs.cluster.lo_vip:
    addresses:
      - 10.98.0.10
      - fd98::10

- name: LVS-TUN real server (the ipip module must be loaded)
  lvs.cluster.lo_vip:
    device: tunl0
    addresses: [10.98.0.20/32]

- name: Remove a virtual IP and its persistence
  lvs.cluster.lo_vip:
    addresses: [10.98.0.10]
    state: absent

- name: Runtime only, for a quick test
  lvs.cluster.lo_vip:
    addresses: [10.98.0.30]
    persistence: none
'''

RETURN = r'''
device:
  description: The device.
  returned: always
  type: str
  sample: lo
addresses:
  description: All addresses on the device after the call (predicted in check mode), as address/prefix.
  returned: always
  type: list
  elements: str
  sample: ["127.0.0.1/8", "10.98.0.10/32", "::1/128", "fd98::10/128"]
added:
  description: Addresses added to the device (on failure, only those still there after the rollback).
  returned: always
  type: list
  elements: str
  sample: ["10.98.0.10/32"]
removed:
  description:
    - Addresses removed from the device, such as the same address with another prefix (on failure, only those still
      gone after the rollback).
  returned: always
  type: list
  elements: str
  sample: ["10.98.0.10/24"]
persistence:
  description: The persistence used, V(networkd), V(networkmanager), V(ifupdown) or V(none) (with O(state=absent) and O(persistence=auto), V(auto)).
  returned: always
  type: str
  sample: networkd
persistence_files:
  description: The persistence files that hold the requested addresses after the call.
  returned: always
  type: list
  elements: str
  sample: ["/etc/systemd/network/05-lvs-cluster-lo.network",
           "/etc/systemd/network/05-lvs-cluster-lo.network.d/lvs-vip-10.98.0.10-32.conf"]
changed_files:
  description: Files of the addresses written or removed by the call (would be, in check mode; on failure, only those not put back).
  returned: always
  type: list
  elements: str
  sample: ["/etc/systemd/network/05-lvs-cluster-lo.network.d/lvs-vip-10.98.0.10-32.conf"]
rollback:
  description:
    - On a failure after the addresses and drop-ins started to change, C(undone) lists the steps rolled back (last
      first), and C(not_restored) the undos that failed too, each with its error (what they name is still in effect).
  returned: failure after a change was started
  type: dict
  sample: {"undone": ["add 10.98.0.10/32 to lo"], "not_restored": []}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.lvs.cluster.plugins.module_utils._pyroute2 import require_pyroute2
from ansible_collections.lvs.cluster.plugins.module_utils import _persist as persist
from ansible_collections.lvs.cluster.plugins.module_utils import _vip as vip
from ansible_collections.lvs.cluster.plugins.module_utils import _vip_apply

OWNER = persist.Owner(mark='Managed by Ansible (lvs.cluster.lo_vip)', dropin_prefix='lvs-vip-',
                      ifupdown_template='lvs-cluster-vip-%s', create_network_file=True, auto_line=True, exclusive=False)


def refuse_bound_elsewhere(module, elsewhere):
    """A real server's virtual IP must not be an address of one of its network interfaces: that
    device answers ARP for it and takes it away from the director. The same address on another of
    lo_vip's devices (lo and a tunnel, for DR and TUN services of one VIP) is fine."""
    for ip in sorted(elsewhere, key=int):
        devices = [name for name in sorted(elsewhere[ip]) if name not in vip.DEVICE_FAMILIES]
        if devices:
            module.fail_json(msg='addresses: %s is an address of %s on this host; bound on %s as a virtual IP too, '
                                 'the host would answer ARP for it and take it away from the director. Give a '
                                 'virtual IP that no interface of this host carries'
                                 % (ip, ', '.join(devices), module.params['device']))


def main():
    module = AnsibleModule(
        argument_spec=_vip_apply.argument_spec(device=dict(type='str', default='lo', choices=sorted(vip.DEVICE_FAMILIES))),
        supports_check_mode=True,
    )
    require_pyroute2(module)
    device = module.params['device']
    # Every check comes before the first change.
    try:
        wanted = vip.normalize_addresses(module.params['addresses'], module.params['allow_non_host_prefix'], device)
    except vip.VipError as exc:
        module.fail_json(msg=to_native(exc))
    job = _vip_apply.AddressJob(owner=OWNER, bring_up=True, elsewhere=refuse_bound_elsewhere,
                                missing=vip.missing_device_message(device), announce=None)
    result = _vip_apply.run(module, job, device, wanted)
    result.pop('network_file')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
