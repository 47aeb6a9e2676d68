# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Virtual IP address rules of lo_vip and director_vip: which addresses and devices are accepted,
their normalized form, and the plan of addresses to add and remove on a device.

Private to this collection: its interface may change without notice. Pure: nothing here touches
the system.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

# Devices a virtual IP may be bound to by lo_vip, and the address family each can carry.
# lo: LVS-DR (both families); tunl0/ip6tnl0: the fallback devices of the ipip and ip6_tunnel
# modules that decapsulate LVS-TUN traffic (IPv4-in-IPv4, and IPv6 inner packets).
DEVICE_FAMILIES = {
    'lo': (4, 6),
    'tunl0': (4,),
    'ip6tnl0': (6,),
}
DEVICE_MODULES = {
    'tunl0': 'ipip',
    'ip6tnl0': 'ip6_tunnel',
}
HOST_PREFIX = {4: 32, 6: 128}


class VipError(ValueError):
    """A bad option value; the message names the option."""


def normalize_address(text, allow_non_host_prefix=False, option='addresses'):
    """An ipaddress interface object for text ('10.98.0.1', '10.98.0.1/32', 'fd98::1/128').

    No prefix means a host prefix. Other prefixes are refused unless allowed: on lo a /24
    makes the whole /24 local to the host. IPv6 in brackets ('[fd98::1]', a URL's form) is
    refused: the documentation gives the bare address, and the brackets are not part of it."""
    if not isinstance(text, str) or not text.strip():
        raise VipError('%s: an address must be a non-empty string, got %r' % (option, text))
    raw = text.strip()
    if '[' in raw or ']' in raw:
        raise VipError('%s: %r is in brackets; give the IPv6 address without them (fd98::1 or fd98::1/128)'
                       % (option, raw))
    try:
        iface = ipaddress.ip_interface(raw)
    except ValueError as exc:
        raise VipError('%s: %r is not an IPv4 or IPv6 address: %s' % (option, raw, exc))
    ip = iface.ip
    if ip.is_unspecified or ip.is_loopback or ip.is_multicast or ip.is_link_local:
        raise VipError('%s: %s cannot be a virtual IP (unspecified, loopback, multicast and link-local '
                       'addresses are refused)' % (option, ip))
    if ip.version == 6 and ip.ipv4_mapped is not None:
        raise VipError('%s: %s is an IPv4-mapped IPv6 address; give the IPv4 address instead' % (option, ip))
    host = HOST_PREFIX[ip.version]
    if '/' not in raw:
        iface = ipaddress.ip_interface('%s/%d' % (ip, host))
    elif iface.network.prefixlen != host and not allow_non_host_prefix:
        raise VipError('%s: %s is not a host address (/%d); a virtual IP is bound with /%d, '
                       'set allow_non_host_prefix=true to bind a wider prefix'
                       % (option, raw, host, host))
    return iface


def address_text(iface):
    """'10.98.0.1/32', 'fd98::1/128' (compressed IPv6)."""
    return '%s/%d' % (iface.ip, iface.network.prefixlen)


def normalize_addresses(texts, allow_non_host_prefix=False, device=None):
    """Validated, deduplicated interfaces in the order given; raises VipError naming the option.

    device: lo_vip's device (lo, tunl0, ip6tnl0), whose family is checked; None for director_vip,
    whose real devices carry both families."""
    if device is not None and device not in DEVICE_FAMILIES:
        raise VipError('device: %r is not one of %s' % (device, ', '.join(sorted(DEVICE_FAMILIES))))
    if not texts:
        raise VipError('addresses: at least one address is required')
    result = []
    by_ip = {}
    for text in texts:
        iface = normalize_address(text, allow_non_host_prefix)
        if device is not None and iface.ip.version not in DEVICE_FAMILIES[device]:
            raise VipError('addresses: %s is IPv%d but device %s carries only IPv%d virtual IPs%s'
                           % (address_text(iface), iface.ip.version, device, DEVICE_FAMILIES[device][0],
                              '; use device=ip6tnl0 for IPv6 LVS-TUN' if device == 'tunl0'
                              else '; use device=tunl0 for IPv4 LVS-TUN' if device == 'ip6tnl0' else ''))
        known = by_ip.get(iface.ip)
        if known is not None:
            if known.network.prefixlen != iface.network.prefixlen:
                raise VipError('addresses: %s is given twice with different prefixes (%s and %s)'
                               % (iface.ip, address_text(known), address_text(iface)))
            continue
        by_ip[iface.ip] = iface
        result.append(iface)
    return result


def missing_device_message(device):
    module = DEVICE_MODULES.get(device)
    if module is None:
        return 'device: %s does not exist' % device
    return ('device: %s does not exist: the %s kernel module is not loaded (modprobe %s; list it in '
            '/etc/modules-load.d/ to load it at boot), or net.core.fb_tunnels_only_for_init_net keeps the '
            'fallback device out of this network namespace' % (device, module, module))


def check_real_device(device, module_hint=True, option='device'):
    """Validate a device name for director_vip/nat_route; the devices of lo_vip are refused."""
    if not isinstance(device, str) or not device:
        raise VipError('%s: a device name is required' % option)
    if (len(device) > 15 or device in ('.', '..') or '/' in device or ':' in device
            or any(char.isspace() for char in device)):
        raise VipError('%s: %r is not a valid interface name (at most 15 characters, no "/", ":" or blanks)'
                       % (option, device))
    if device in DEVICE_FAMILIES and module_hint:
        raise VipError('%s: %s is a real server device; bind real-server virtual IPs with lvs.cluster.lo_vip '
                       '(this module binds them to the director\'s network interface, where they answer ARP)'
                       % (option, device))
    return device


def plan_addresses(current, wanted, state):
    """(to_add, to_remove) for the device.

    current: interfaces on the device. present: each wanted address with exactly its prefix; the
    same address with another prefix is replaced. absent: the address goes, whatever its prefix."""
    to_add = []
    to_remove = []
    current_set = set((c.ip, c.network.prefixlen) for c in current)
    for iface in wanted:
        same_ip = [c for c in current if c.ip == iface.ip]
        if state == 'present':
            if (iface.ip, iface.network.prefixlen) not in current_set:
                to_add.append(iface)
            to_remove.extend(c for c in same_ip if c.network.prefixlen != iface.network.prefixlen)
        else:
            to_remove.extend(same_ip)
    return to_add, to_remove
