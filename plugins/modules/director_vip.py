#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: director_vip
short_description: Bind the virtual IPs of an LVS director's services to one of its network interfaces
version_added: 0.1.0
description:
  - Adds the virtual IPs of the director's virtual services as host addresses (C(/32), C(/128)) to a real
    network interface of the director (for example C(eth0)), where they answer ARP and neighbour
    discovery, so that clients and routers send the virtual IPs' traffic to the director.
  - Several addresses in one call, over one netlink session (pyroute2); C(ip) is not run.
  - Makes the addresses persistent the way the host's network stack expects (systemd-networkd drop-ins on the
    C(.network) file networkd already uses for the device, or an ifupdown file, see O(persistence)), and
    removes them and their persistence with O(state=absent).
  - Announces each newly added IPv4 virtual IP with gratuitous ARP (see O(gratuitous_arp)), so that
    neighbours that cached another MAC address for it (a previous director) learn the new one at once.
  - Real servers bind virtual IPs with M(lvs.cluster.lo_vip) instead; C(lo), C(tunl0) and C(ip6tnl0) are refused here.
options:
  addresses:
    description:
      - The virtual IPs, IPv4 or IPv6, with or without a prefix (C(10.97.0.10), C(10.97.0.10/32), C(fd97::10/128)).
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
      - The director's network interface that carries the virtual IPs, usually the one facing the clients.
      - It must exist. C(lo), C(tunl0) and C(ip6tnl0) are refused (they are real-server devices, see
        M(lvs.cluster.lo_vip)).
      - The device is not brought up; a device that is down keeps the addresses but answers nothing.
    type: str
    required: true
  state:
    description:
      - V(present) binds the addresses and persists them; V(absent) removes both.
    type: str
    choices: [present, absent]
    default: present
  allow_non_host_prefix:
    description:
      - Accept prefixes other than C(/32) and C(/128), for example a virtual IP with the prefix of the device's
        subnet (the kernel then also adds a prefix route for it).
    type: bool
    default: false
  persistence:
    description:
      - How the addresses come back at boot.
      - V(auto) uses V(networkd) when systemd-networkd is running or enabled, else V(ifupdown) when
        C(/etc/network/interfaces) and C(ifup) exist, else fails asking for an explicit choice.
      - V(networkd) writes one drop-in per address,
        C(/etc/systemd/network/<file>.network.d/lvs-director-vip-<address>-<prefix>.conf), with an C([Address])
        section. C(<file>) is the C(.network) file systemd-networkd uses for the device, that is the one networkd reports
        in C(/run/systemd/netif/links/<ifindex>) when it runs, otherwise the first file (in networkd's order) whose
        C([Match] Name=) matches the device. That file must match the device alone (C(Name=<device>)); a file that
        matches other links too (C(Name=eth*), C(Name=eth0 eth1)) is an error, because the drop-ins would add the
        addresses to those links as well. When no C(.network) file names the device the task fails, because the module
        never creates one (a new file would take the configuration of the device over).
      - V(ifupdown) writes C(/etc/network/interfaces.d/lvs-cluster-director-vip-<device>) with one
        C(iface <device> inet|inet6 static) stanza per address and no C(auto) line, so the stanzas are applied when
        the host's own configuration brings the device up (a warning is given when no C(auto) or C(allow-hotplug)
        line names it).
      - V(none) changes only the running system.
      - With O(state=absent) the module removes the addresses from the files of both kinds it finds,
        unless V(none).
    type: str
    choices: [auto, networkd, ifupdown, none]
    default: auto
  reload_networkd:
    description:
      - After changing systemd-networkd files, run C(networkctl reload) when networkd is running, so that
        networkd counts the addresses as its own (it keeps them on reconfiguration, and a removed address does
        not come back).
    type: bool
    default: true
  gratuitous_arp:
    description:
      - Send gratuitous ARP for each IPv4 virtual IP the call adds to the device, that is one ARP request (who-has VIP tell
        VIP, the RFC 5227 announcement) and one ARP reply (VIP is-at MAC), both broadcast, from an C(AF_PACKET) socket.
      - Only for an Ethernet-type device that is up and does not have C(NOARP); otherwise a warning says why
        nothing was sent. A failure to send is a warning too, never a failed task.
      - Neighbours update an existing entry for the address; whether they create a new one depends on their
        C(arp_accept) setting. IPv6 virtual IPs are not announced; the kernel runs duplicate address detection for
        them, and neighbours re-resolve a stale entry by neighbour unreachability detection.
      - Nothing is sent in check mode, nor for addresses that were already bound.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reports what would change; touches neither the device nor the files, and sends nothing.
  diff_mode:
    support: full
    description: The addresses of the device, and every persistence file written or removed.
  platform:
    support: full
    platforms: linux
    description: Linux only (rtnetlink, AF_PACKET).
notes:
  - "Runtime and persistence agree: the address is added over netlink with the prefix and global scope networkd
    would use, and the drop-in says the same, so reloading or restarting networkd keeps it and a reboot brings it
    back. IPv6 addresses go through duplicate address detection (kernel and networkd alike) and answer only once
    it is over."
  - "The drop-ins start with C(lvs-director-vip-), and those of M(lvs.cluster.lo_vip) with C(lvs-vip-), so neither
    module removes the other's files."
  - On a director the virtual IP must answer ARP on the client side; do not apply M(lvs.cluster.arp_sysctl)'s
    real-server settings (C(arp_ignore), C(arp_announce)) to this device.
  - With O(state=present) the module warns when an address is also bound to another device.
  - NetworkManager is not supported for persistence; use O(persistence=none) and configure it separately.
requirements:
  - pyroute2 >= 0.7.2 on the target
  - Linux, run as root (CAP_NET_ADMIN, CAP_NET_RAW for gratuitous ARP)
seealso:
  - module: lvs.cluster.lo_vip
  - module: lvs.cluster.nat_route
  - module: lvs.cluster.ipvs_service
author:
  - lvs.cluster contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Virtual IPs of the director's services on its client-side interface
  lvs.cluster.director_vip:
    device: eth0
    addresses:
      - 10.97.0.10
      - fd97::10

- name: Move a virtual IP to this director quietly (no gratuitous ARP), at runtime only
  lvs.cluster.director_vip:
    device: eth0
    addresses: [10.97.0.11]
    gratuitous_arp: false
    persistence: none

- name: Remove a virtual IP and its persistence
  lvs.cluster.director_vip:
    device: eth0
    addresses: [10.97.0.10]
    state: absent
'''

RETURN = r'''
device:
  description: The device.
  returned: always
  type: str
  sample: eth0
addresses:
  description: All addresses on the device after the call (predicted in check mode), as address/prefix.
  returned: always
  type: list
  elements: str
  sample: ["10.10.0.12/24", "10.97.0.10/32", "fd97::10/128"]
added:
  description: Addresses added to the device.
  returned: always
  type: list
  elements: str
  sample: ["10.97.0.10/32", "fd97::10/128"]
removed:
  description: Addresses removed from the device.
  returned: always
  type: list
  elements: str
  sample: []
announced:
  description: IPv4 addresses announced with gratuitous ARP (one request and one reply each). Empty in check mode.
  returned: always
  type: list
  elements: str
  sample: ["10.97.0.10"]
persistence:
  description: The persistence used, V(networkd), V(ifupdown) or V(none) (with O(state=absent) and O(persistence=auto), V(auto)).
  returned: always
  type: str
  sample: networkd
network_file:
  description: The C(.network) file of the device the drop-ins attach to (O(persistence=networkd) and O(state=present)), else null.
  returned: always
  type: str
  sample: /etc/systemd/network/10-eth0.network
persistence_files:
  description: The persistence files that hold the requested addresses after the call.
  returned: always
  type: list
  elements: str
  sample: ["/etc/systemd/network/10-eth0.network.d/lvs-director-vip-10.97.0.10-32.conf"]
changed_files:
  description: Persistence files written or removed by the call (would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["/etc/systemd/network/10-eth0.network.d/lvs-director-vip-10.97.0.10-32.conf"]
'''

import glob
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.lvs.cluster.plugins.module_utils._pyroute2 import require_pyroute2
from ansible_collections.lvs.cluster.plugins.module_utils import _vip as vip


def dropin_pattern(iface):
    return '%s%s-*.conf' % (vip.DIRECTOR_DROPIN_PREFIX, str(iface.ip).replace(':', '-'))


def plan_networkd_present(module, device, index, wanted):
    """{path: new content} for the drop-ins of the wanted addresses, the files that hold them, the .network file."""
    applied = vip.networkd_link_file(index) if index is not None else None
    try:
        name, path, notes = vip.networkd_device_file(device, vip.networkd_files(), applied)
    except vip.VipError as exc:
        module.fail_json(msg=to_native(exc))
    for note in notes:
        module.warn(note)
    plan = {}
    holding = []
    dropin_dir = vip.networkd_dropin_dir(name)
    for iface in wanted:
        dropin = os.path.join(dropin_dir, vip.director_dropin_name(iface))
        plan[dropin] = vip.render_director_dropin(iface)
        holding.append(dropin)
        # The same address with another prefix, or on another device's file, from an earlier call, goes.
        for other in glob.glob(os.path.join(vip.NETWORKD_ETC, '*.network.d', dropin_pattern(iface))):
            if other != dropin:
                plan[other] = None
    return plan, holding, path


def plan_networkd_absent(wanted):
    plan = {}
    for iface in wanted:
        for path in glob.glob(os.path.join(vip.NETWORKD_ETC, '*.network.d', dropin_pattern(iface))):
            plan[path] = None
    return plan


def plan_ifupdown(module, device, wanted, state):
    path = vip.director_ifupdown_path(device)
    old = vip.read_text(path)
    if state == 'absent' and old is None:
        return {}, []
    existing = vip.parse_ifupdown(old, device)
    wanted_ips = set(iface.ip for iface in wanted)
    kept = [iface for iface in existing if iface.ip not in wanted_ips]
    if state == 'present':
        kept.extend(wanted)
        main = vip.read_text(vip.IFUPDOWN_INTERFACES)
        if not vip.ifupdown_sources_dir(main):
            module.warn('%s does not read %s: add "source %s/*" or the addresses will not come back at boot'
                        % (vip.IFUPDOWN_INTERFACES, vip.IFUPDOWN_DIR, vip.IFUPDOWN_DIR))
        others = [vip.read_text(p) for p in sorted(glob.glob(os.path.join(vip.IFUPDOWN_DIR, '*'))) if p != path]
        if not vip.ifupdown_brings_up(device, [main] + others):
            module.warn('no auto or allow-hotplug line names %s in %s or %s: ifupdown will not bring it up at boot, '
                        'and the addresses will not come back' % (device, vip.IFUPDOWN_INTERFACES, vip.IFUPDOWN_DIR))
    return {path: vip.render_director_ifupdown(device, kept)}, ([path] if state == 'present' else [])


def announce(module, netlink, device, index, ifaces):
    """Gratuitous ARP for the IPv4 addresses; returns the addresses announced, warns instead of failing."""
    ips = [str(iface.ip) for iface in ifaces if iface.ip.version == 4]
    if not ips:
        return []
    flags = netlink.link_flags(index)
    if not flags & vip.IFF_UP:
        module.warn('gratuitous_arp: %s is down, nothing was sent' % device)
        return []
    if flags & vip.IFF_NOARP:
        module.warn('gratuitous_arp: %s has NOARP set, nothing was sent' % device)
        return []
    try:
        why_not = vip.send_gratuitous_arp(device, ips)
    except (OSError, IOError) as exc:
        module.warn('gratuitous_arp: sending on %s failed: %s' % (device, to_native(exc)))
        return []
    if why_not:
        module.warn('gratuitous_arp: %s, nothing was sent' % why_not)
        return []
    return ips


def main():
    module = AnsibleModule(
        argument_spec=dict(
            addresses=dict(type='list', elements='str', required=True),
            device=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            allow_non_host_prefix=dict(type='bool', default=False),
            persistence=dict(type='str', default='auto', choices=list(vip.PERSISTENCE_CHOICES)),
            reload_networkd=dict(type='bool', default=True),
            gratuitous_arp=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    require_pyroute2(module)
    params = module.params
    device = params['device']
    state = params['state']

    # Every check comes before the first change.
    try:
        vip.check_real_device(device)
        wanted = vip.normalize_director_addresses(params['addresses'], params['allow_non_host_prefix'])
    except vip.VipError as exc:
        module.fail_json(msg=to_native(exc))

    persistence = params['persistence']
    if persistence == 'auto' and state == 'present':
        persistence = vip.detect_persistence()
        if persistence is None:
            module.fail_json(msg='persistence=auto found neither systemd-networkd (running or enabled) nor ifupdown '
                                 '(/etc/network/interfaces and ifup): set persistence to networkd, ifupdown or none')

    netlink = vip.Netlink()
    try:
        link = netlink.link(device)
        if link is None and state == 'present':
            module.fail_json(msg='device: %s does not exist' % device)
        index = link[0] if link is not None else None

        file_plan = {}
        holding = []
        network_file = None
        if state == 'present' and persistence == 'networkd':
            file_plan, holding, network_file = plan_networkd_present(module, device, index, wanted)
        elif state == 'present' and persistence == 'ifupdown':
            file_plan, holding = plan_ifupdown(module, device, wanted, state)
        elif state == 'absent' and persistence in ('auto', 'networkd', 'ifupdown'):
            if persistence in ('auto', 'networkd'):
                file_plan.update(plan_networkd_absent(wanted))
            if persistence in ('auto', 'ifupdown'):
                file_plan.update(plan_ifupdown(module, device, wanted, state)[0])

        file_changes = []
        for path in sorted(file_plan):
            old = vip.read_text(path)
            if os.path.lexists(path) and not os.path.isfile(path):
                module.fail_json(msg='persistence: %s exists and is not a regular file' % path)
            if old != file_plan[path]:
                file_changes.append((path, old, file_plan[path]))

        current = netlink.addresses(index) if index is not None else []
        to_add, to_remove = vip.plan_addresses(current, wanted, state)
        if state == 'present':
            elsewhere = netlink.other_devices(index, set(iface.ip for iface in wanted))
            for ip in sorted(elsewhere, key=int):
                module.warn('%s is also bound to %s' % (ip, ', '.join(sorted(elsewhere[ip]))))

        changed = bool(to_add or to_remove or file_changes)
        predicted = [c for c in current if c not in to_remove] + to_add
        result = dict(
            changed=changed,
            device=device,
            persistence=persistence,
            network_file=network_file,
            added=[vip.address_text(i) for i in to_add],
            removed=[vip.address_text(i) for i in to_remove],
            announced=[],
            changed_files=[change[0] for change in file_changes],
            persistence_files=holding,
        )
        if module._diff:
            result['diff'] = vip.state_diffs('%s addresses' % device, [vip.address_text(i) for i in current],
                                             [vip.address_text(i) for i in predicted], file_changes)

        if changed and not module.check_mode:
            vip.apply_file_changes(module, file_changes)
            try:
                for iface in to_remove:
                    netlink.delete(index, iface)
                for iface in to_add:
                    netlink.add(index, iface)
            except Exception as exc:  # pylint: disable=broad-except  # NetlinkError and socket errors alike
                module.fail_json(msg='netlink call on %s failed: %s' % (device, to_native(exc)), **result)
            if params['gratuitous_arp'] and to_add:
                result['announced'] = announce(module, netlink, device, index, to_add)
            predicted = netlink.addresses(index) if index is not None else []
        result['addresses'] = [vip.address_text(i) for i in predicted]
    finally:
        netlink.close()

    vip.reload_networkd(module, file_changes, params['reload_networkd'])

    module.exit_json(**result)


if __name__ == '__main__':
    main()
