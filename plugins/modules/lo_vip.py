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
  - Makes the addresses persistent the way the host's network stack expects (systemd-networkd or
    ifupdown, see O(persistence)), and removes them and their persistence with O(state=absent).
  - Pair it with M(lvs.cluster.arp_sysctl), or the real server answers ARP for the virtual IP.
options:
  addresses:
    description:
      - The virtual IPs, IPv4 or IPv6, with or without a prefix (C(10.98.0.1), C(10.98.0.1/32), C(fd98::1/128)).
        No prefix means a host prefix.
      - Unspecified, loopback, multicast, link-local and IPv4-mapped IPv6 addresses are refused, and so is
        the same address twice with different prefixes.
      - With O(state=present) each address ends up with exactly its prefix (the same address with another
        prefix on the device is replaced). With O(state=absent) the address goes whatever its prefix.
    type: list
    elements: str
    required: true
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
  state:
    description:
      - V(present) binds the addresses and persists them; V(absent) removes both.
    type: str
    choices: [present, absent]
    default: present
  allow_non_host_prefix:
    description:
      - Accept prefixes other than C(/32) and C(/128). Rarely right, because on C(lo) a C(/24) makes every address
        of the C(/24) local to the host.
    type: bool
    default: false
  persistence:
    description:
      - How the addresses come back at boot.
      - V(auto) uses V(networkd) when systemd-networkd is running or enabled, else V(ifupdown) when
        C(/etc/network/interfaces) and C(ifup) exist, else fails asking for an explicit choice.
      - V(networkd) writes one drop-in per address, C(/etc/systemd/network/<file>.network.d/lvs-vip-<address>-<prefix>.conf),
        with an C([Address]) section. C(<file>) is the C(.network) file systemd-networkd already uses for the
        device when one names it in C([Match] Name=); otherwise the module creates
        C(/etc/systemd/network/05-lvs-cluster-<device>.network), which matches only the device and sets
        C(KeepConfiguration=yes) so that networkd never removes addresses it did not configure
        (C(127.0.0.1/8), C(::1)).
      - V(ifupdown) writes C(/etc/network/interfaces.d/lvs-cluster-vip-<device>) with one
        C(iface <device> inet|inet6 static) stanza per address.
      - V(none) changes only the running system.
      - With O(state=absent) the module removes the addresses from the files of both kinds it finds,
        unless V(none).
    type: str
    choices: [auto, networkd, ifupdown, none]
    default: auto
  reload_networkd:
    description:
      - After changing systemd-networkd files, run C(networkctl reload) when networkd is running, so that
        its view of the device matches the files (otherwise a removed address could come back when the
        device is reconfigured before the next reload).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reports what would change; touches neither the device nor the files.
  diff_mode:
    support: full
    description: The addresses of the device, and every persistence file written or removed.
  platform:
    support: full
    platforms: linux
    description: Linux only (rtnetlink).
notes:
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
    because the interfaces file the ifupdown package installs has no C(auto lo) (a second one is harmless).
    A warning is given when C(/etc/network/interfaces) does not read C(/etc/network/interfaces.d)."
  - "For O(device=tunl0) and O(device=ip6tnl0) the kernel module must be loaded at boot too, for example
    with a file in C(/etc/modules-load.d/); this module does not load kernel modules."
  - With O(state=present) the module warns when an address is also bound to another device, because a real
    server that answers ARP for a virtual IP takes it away from the director.
  - NetworkManager is not supported for persistence; use O(persistence=none) and configure it separately.
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
  description: Addresses added to the device.
  returned: always
  type: list
  elements: str
  sample: ["10.98.0.10/32"]
removed:
  description: Addresses removed from the device.
  returned: always
  type: list
  elements: str
  sample: []
persistence:
  description: The persistence used, V(networkd), V(ifupdown) or V(none) (with O(state=absent) and O(persistence=auto), V(auto)).
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
  description: Persistence files written or removed by the call (would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["/etc/systemd/network/05-lvs-cluster-lo.network.d/lvs-vip-10.98.0.10-32.conf"]
'''

import glob
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.lvs.cluster.plugins.module_utils._pyroute2 import require_pyroute2
from ansible_collections.lvs.cluster.plugins.module_utils import _vip as vip


def plan_networkd_present(module, device, wanted):
    """{path: new content} for the networkd files of the wanted addresses, and the files that hold them."""
    try:
        target, _exists, note = vip.networkd_target(device, vip.networkd_files())
    except vip.VipError as exc:
        module.fail_json(msg=to_native(exc))
    if note:
        module.warn(note)
    plan = {}
    holding = []
    if target == vip.NETWORKD_BASE_TEMPLATE % device:
        base = vip.networkd_base_path(device)
        plan[base] = vip.render_networkd_base(device)
        holding.append(base)
    dropin_dir = vip.networkd_dropin_dir(target)
    for iface in wanted:
        path = os.path.join(dropin_dir, vip.networkd_dropin_name(iface))
        plan[path] = vip.render_networkd_dropin(iface)
        holding.append(path)
        # The same address with another prefix, from an earlier call, goes.
        for other in glob.glob(os.path.join(dropin_dir, '%s%s-*.conf' % (vip.NETWORKD_DROPIN_PREFIX, str(iface.ip).replace(':', '-')))):
            if other != path:
                plan[other] = None
    return plan, holding


def plan_networkd_absent(device, wanted):
    """Remove the drop-ins of the addresses wherever we put them; our base file goes with its last drop-in."""
    plan = {}
    for iface in wanted:
        pattern = '%s%s-*.conf' % (vip.NETWORKD_DROPIN_PREFIX, str(iface.ip).replace(':', '-'))
        for path in glob.glob(os.path.join(vip.NETWORKD_ETC, '*.network.d', pattern)):
            plan[path] = None
    base = vip.networkd_base_path(device)
    dropin_dir = base + '.d'
    if os.path.exists(base):
        remaining = [path for path in glob.glob(os.path.join(dropin_dir, '*')) if path not in plan]
        if not remaining:
            plan[base] = None
    return plan


def plan_ifupdown(module, device, wanted, state):
    path = vip.ifupdown_path(device)
    old = vip.read_text(path)
    if state == 'absent' and old is None:
        return {}, []
    existing = vip.parse_ifupdown(old, device)
    wanted_ips = set(iface.ip for iface in wanted)
    kept = [iface for iface in existing if iface.ip not in wanted_ips]
    if state == 'present':
        kept.extend(wanted)
        if not vip.ifupdown_sources_dir(vip.read_text(vip.IFUPDOWN_INTERFACES)):
            module.warn('%s does not read %s: add "source %s/*" or the addresses will not come back at boot'
                        % (vip.IFUPDOWN_INTERFACES, vip.IFUPDOWN_DIR, vip.IFUPDOWN_DIR))
    return {path: vip.render_ifupdown(device, kept)}, ([path] if state == 'present' else [])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            addresses=dict(type='list', elements='str', required=True),
            device=dict(type='str', default='lo', choices=sorted(vip.DEVICE_FAMILIES)),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            allow_non_host_prefix=dict(type='bool', default=False),
            persistence=dict(type='str', default='auto', choices=list(vip.PERSISTENCE_CHOICES)),
            reload_networkd=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    require_pyroute2(module)
    params = module.params
    device = params['device']
    state = params['state']

    # Every check comes before the first change.
    try:
        wanted = vip.normalize_addresses(params['addresses'], device, params['allow_non_host_prefix'])
    except vip.VipError as exc:
        module.fail_json(msg=to_native(exc))

    persistence = params['persistence']
    if persistence == 'auto' and state == 'present':
        persistence = vip.detect_persistence()
        if persistence is None:
            module.fail_json(msg='persistence=auto found neither systemd-networkd (running or enabled) nor ifupdown '
                                 '(/etc/network/interfaces and ifup): set persistence to networkd, ifupdown or none')

    file_plan = {}
    holding = []
    if state == 'present' and persistence == 'networkd':
        file_plan, holding = plan_networkd_present(module, device, wanted)
    elif state == 'present' and persistence == 'ifupdown':
        file_plan, holding = plan_ifupdown(module, device, wanted, state)
    elif state == 'absent' and persistence in ('auto', 'networkd', 'ifupdown'):
        if persistence in ('auto', 'networkd'):
            file_plan.update(plan_networkd_absent(device, wanted))
        if persistence in ('auto', 'ifupdown'):
            file_plan.update(plan_ifupdown(module, device, wanted, state)[0])

    file_changes = []
    for path in sorted(file_plan):
        old = vip.read_text(path)
        if os.path.lexists(path) and not os.path.isfile(path):
            module.fail_json(msg='persistence: %s exists and is not a regular file' % path)
        if old != file_plan[path]:
            file_changes.append((path, old, file_plan[path]))

    netlink = vip.Netlink()
    try:
        link = netlink.link(device)
        if link is None and state == 'present':
            module.fail_json(msg=vip.missing_device_message(device))
        if link is None:
            index, is_up, current = None, False, []
        else:
            index, is_up = link
            current = netlink.addresses(index)
        to_add, to_remove = vip.plan_addresses(current, wanted, state)
        if state == 'present':
            elsewhere = netlink.other_devices(index, set(iface.ip for iface in wanted))
            for ip in sorted(elsewhere, key=int):
                module.warn('%s is also bound to %s: on a real server a virtual IP on a device that answers ARP '
                            'takes it away from the director' % (ip, ', '.join(sorted(elsewhere[ip]))))
        bring_up = state == 'present' and not is_up

        changed = bool(to_add or to_remove or bring_up or file_changes)
        predicted = [c for c in current if c not in to_remove] + to_add
        result = dict(
            changed=changed,
            device=device,
            persistence=persistence,
            added=[vip.address_text(i) for i in to_add],
            removed=[vip.address_text(i) for i in to_remove],
            changed_files=[change[0] for change in file_changes],
            persistence_files=holding,
        )
        if module._diff:
            result['diff'] = vip.state_diffs('%s addresses' % device, [vip.address_text(i) for i in current],
                                             [vip.address_text(i) for i in predicted], file_changes)

        if changed and not module.check_mode:
            vip.apply_file_changes(module, file_changes)
            try:
                if bring_up:
                    netlink.set_up(index)
                for iface in to_remove:
                    netlink.delete(index, iface)
                for iface in to_add:
                    netlink.add(index, iface)
            except Exception as exc:  # pylint: disable=broad-except  # NetlinkError and socket errors alike
                module.fail_json(msg='netlink call on %s failed: %s' % (device, to_native(exc)), **result)
            predicted = netlink.addresses(index) if index is not None else []
        result['addresses'] = [vip.address_text(i) for i in predicted]
    finally:
        netlink.close()

    vip.reload_networkd(module, file_changes, params['reload_networkd'])

    module.exit_json(**result)


if __name__ == '__main__':
    main()
