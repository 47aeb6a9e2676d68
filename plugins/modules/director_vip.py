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
    C(.network) file networkd already uses for the device, a NetworkManager dispatcher script, or an ifupdown file,
    see O(persistence)), and
    removes them and their persistence with O(state=absent).
  - Announces each newly added IPv4 virtual IP with gratuitous ARP (see O(gratuitous_arp)), so that
    neighbours that cached another MAC address for it (a previous director) learn the new one at once.
  - Real servers bind virtual IPs with M(lvs.cluster.lo_vip) instead; C(lo), C(tunl0) and C(ip6tnl0) are refused here.
options:
  device:
    description:
      - The director's network interface that carries the virtual IPs, usually the one facing the clients.
      - It must exist. C(lo), C(tunl0) and C(ip6tnl0) are refused (they are real-server devices, see
        M(lvs.cluster.lo_vip)).
      - The device is not brought up; a device that is down keeps the addresses but answers nothing.
    type: str
    required: true
  allow_non_host_prefix:
    description:
      - Accept prefixes other than C(/32) and C(/128), for example a virtual IP with the prefix of the device's
        subnet (the kernel then also adds a prefix route for it).
    type: bool
    default: false
  gratuitous_arp:
    description:
      - Send gratuitous ARP for each IPv4 virtual IP the call adds to the device, that is one ARP request (who-has VIP tell
        VIP, the RFC 5227 announcement) and one ARP reply (VIP is-at MAC), both broadcast, from an C(AF_PACKET) socket.
      - Only for an Ethernet-type device that is up and does not have C(NOARP); otherwise a warning says why
        nothing was sent. A failure to send is a warning too, never a failed task.
      - Neighbours update an existing entry for the address; whether they create a new one depends on their
        C(arp_accept) setting. IPv6 virtual IPs are not announced; the kernel runs duplicate address detection for
        them, and neighbours re-resolve a stale entry by neighbour unreachability detection.
      - Nothing is sent in check mode, nor for addresses that were already bound, nor when the call fails (it is sent
        after every other step succeeded, since it cannot be undone).
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
extends_documentation_fragment:
  - lvs.cluster.persistence
  - lvs.cluster.persistence.VIP
notes:
  - "O(persistence=networkd) writes one drop-in per address,
    C(/etc/systemd/network/<file>.network.d/lvs-director-vip-<address>-<prefix>.conf), with an C([Address]) section.
    C(<file>) is the C(.network) file systemd-networkd uses for the device, that is the one networkd reports in
    C(/run/systemd/netif/links/<ifindex>) when it runs, otherwise the first file (in networkd's order) whose
    C([Match] Name=) matches the device. That file must match the device alone (C(Name=<device>)); a file that matches
    other links too (C(Name=eth*), C(Name=eth0 eth1)) is an error, because the drop-ins would add the addresses to those
    links as well. When no C(.network) file names the device the task fails, because the module never creates one (a
    new file would take the configuration of the device over)."
  - "O(persistence=ifupdown) writes C(/etc/network/interfaces.d/lvs-cluster-director-vip-<device>) with one
    C(iface <device> inet|inet6 static) stanza per address and no C(auto) line, so the stanzas are applied when the host's
    own configuration brings the device up (a warning is given when no C(auto) or C(allow-hotplug) line names it)."
  - "O(persistence=networkmanager) writes C(/etc/NetworkManager/dispatcher.d/50-lvs-cluster-director-vip-<device>), which
    sets the addresses with C(ip address replace) whenever NetworkManager brings the device up or reapplies its
    profile (C(nmcli device reapply), C(nmcli connection up)). NetworkManager takes the virtual IPs away on those two
    events, and the script puts them back within about a second (0.7 to 1 s measured in the lab): reapply a profile of
    the director that holds a service's VIPs only when its traffic may pause that long. The host's connection
    profiles are not touched."
  - "Runtime and persistence agree: the address is added over netlink with the prefix and global scope networkd
    would use, and the drop-in says the same, so reloading or restarting networkd keeps it and a reboot brings it
    back. IPv6 addresses go through duplicate address detection (kernel and networkd alike) and answer only once
    it is over."
  - "The drop-ins start with C(lvs-director-vip-), and those of M(lvs.cluster.lo_vip) with C(lvs-vip-), so neither
    module removes the other's files."
  - On a director the virtual IP must answer ARP on the client side; do not apply M(lvs.cluster.arp_sysctl)'s
    real-server settings (C(arp_ignore), C(arp_announce)) to this device.
  - With O(state=present) the module warns when an address is also bound to another device.
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
  description: Addresses added to the device (on failure, only those still there after the rollback).
  returned: always
  type: list
  elements: str
  sample: ["10.97.0.10/32", "fd97::10/128"]
removed:
  description: Addresses removed from the device (on failure, only those still gone after the rollback).
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
  description: The persistence used, V(networkd), V(networkmanager), V(ifupdown) or V(none) (with O(state=absent) and O(persistence=auto), V(auto)).
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
  description: Files of the addresses written or removed by the call (would be, in check mode; on failure, only those not put back).
  returned: always
  type: list
  elements: str
  sample: ["/etc/systemd/network/10-eth0.network.d/lvs-director-vip-10.97.0.10-32.conf"]
rollback:
  description:
    - On a failure after the addresses and drop-ins of the device started to change, C(undone) lists the steps rolled back (last
      first), and C(not_restored) the undos that failed too, each with its error (what they name is still in effect).
  returned: failure after a change was started
  type: dict
  sample: {"undone": ["add 10.97.0.10/32 to eth0"], "not_restored": []}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.lvs.cluster.plugins.module_utils._pyroute2 import require_pyroute2
from ansible_collections.lvs.cluster.plugins.module_utils import _garp
from ansible_collections.lvs.cluster.plugins.module_utils import _persist as persist
from ansible_collections.lvs.cluster.plugins.module_utils import _rtnetlink
from ansible_collections.lvs.cluster.plugins.module_utils import _vip as vip
from ansible_collections.lvs.cluster.plugins.module_utils import _vip_apply

# The drop-ins start with lvs-director-vip- (lo_vip's with lvs-vip-), so neither module removes the
# other's; no auto line (the host's own configuration brings the device up); a virtual IP moved to
# another device leaves its old drop-in behind no longer.
OWNER = persist.Owner(mark='Managed by Ansible (lvs.cluster.director_vip)', dropin_prefix='lvs-director-vip-',
                      ifupdown_template='lvs-cluster-director-vip-%s', create_network_file=False, auto_line=False,
                      exclusive=True)


def warn_bound_elsewhere(module, elsewhere):
    for ip in sorted(elsewhere, key=int):
        module.warn('%s is also bound to %s' % (ip, ', '.join(sorted(elsewhere[ip]))))


def announce(module, netlink, device, index, ifaces):
    """Gratuitous ARP for the IPv4 addresses added; returns the addresses announced. Sent after every
    step succeeded (it cannot be undone), and a failure is a warning: the addresses are bound."""
    if not module.params['gratuitous_arp']:
        return []
    ips = [str(iface.ip) for iface in ifaces if iface.ip.version == 4]
    if not ips:
        return []
    flags = netlink.link_flags(index)
    if not flags & _rtnetlink.IFF_UP:
        module.warn('gratuitous_arp: %s is down, nothing was sent' % device)
        return []
    if flags & _rtnetlink.IFF_NOARP:
        module.warn('gratuitous_arp: %s has NOARP set, nothing was sent' % device)
        return []
    try:
        why_not = _garp.send_gratuitous_arp(device, ips)
    except (OSError, IOError) as exc:
        module.warn('gratuitous_arp: sending on %s failed: %s' % (device, to_native(exc)))
        return []
    if why_not:
        module.warn('gratuitous_arp: %s, nothing was sent' % why_not)
        return []
    return ips


def main():
    module = AnsibleModule(
        argument_spec=_vip_apply.argument_spec(device=dict(type='str', required=True),
                                               gratuitous_arp=dict(type='bool', default=True)),
        supports_check_mode=True,
    )
    require_pyroute2(module)
    device = module.params['device']
    # Every check comes before the first change.
    try:
        vip.check_real_device(device)
        wanted = vip.normalize_addresses(module.params['addresses'], module.params['allow_non_host_prefix'])
    except vip.VipError as exc:
        module.fail_json(msg=to_native(exc))
    job = _vip_apply.AddressJob(owner=OWNER, bring_up=False, elsewhere=warn_bound_elsewhere,
                                missing='device: %s does not exist' % device, announce=announce)
    module.exit_json(**_vip_apply.run(module, job, device, wanted))


if __name__ == '__main__':
    main()
