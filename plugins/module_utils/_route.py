# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Route rules of the nat_route module: gateway, destination and metric validation, choosing the
device whose connected subnet holds the gateway, and route planning. Their files are written by
the persistence back ends (_persist_networkd, _persist_ifupdown), the routes set by _rtnetlink.

Private to this collection: its interface may change without notice. Pure: nothing here touches the system.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.lvs.cluster.plugins.module_utils import _vip as vip

VipError = vip.VipError
# What the kernel stores when a route is added without a metric (and networkd without Metric=).
DEFAULT_METRIC = {4: 0, 6: 1024}
MAX_METRIC = 4294967295


# ---------------------------------------------------------------- validation

def normalize_gateway(text):
    if not isinstance(text, str) or not text.strip():
        raise VipError('gateway: the director\'s inside address is required, got %r' % (text,))
    raw = text.strip()
    if '[' in raw or ']' in raw:
        raise VipError('gateway: %r is in brackets; give the IPv6 address without them' % raw)
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError as exc:
        raise VipError('gateway: %r is not an IPv4 or IPv6 address (give the address alone, no prefix): %s' % (raw, exc))
    if ip.is_unspecified or ip.is_loopback or ip.is_multicast:
        raise VipError('gateway: %s cannot be a gateway (unspecified, loopback and multicast addresses are refused)' % ip)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        raise VipError('gateway: %s is an IPv4-mapped IPv6 address; give the IPv4 address instead' % ip)
    if ip.version == 4 and ip == ipaddress.IPv4Address('255.255.255.255'):
        raise VipError('gateway: 255.255.255.255 cannot be a gateway')
    return ip


def normalize_destinations(texts, gateway):
    """[ip_network] in the order given, deduplicated; 'default' is 0.0.0.0/0 or ::/0 by the gateway's family."""
    if not texts:
        raise VipError('destinations: at least one destination is required (default, or client prefixes)')
    result = []
    for text in texts:
        if not isinstance(text, str) or not text.strip():
            raise VipError('destinations: a destination must be a non-empty string, got %r' % (text,))
        raw = text.strip()
        if raw.lower() == 'default':
            net = ipaddress.ip_network('0.0.0.0/0' if gateway.version == 4 else '::/0')
        else:
            try:
                net = ipaddress.ip_network(raw)
            except ValueError as exc:
                raise VipError('destinations: %r is not an IPv4 or IPv6 prefix (host bits must be zero, for example '
                               '10.97.200.0/24): %s' % (raw, exc))
        if net.version != gateway.version:
            raise VipError('destinations: %s is IPv%d but the gateway %s is IPv%d; use one task per family'
                           % (raw, net.version, gateway, gateway.version))
        if net.prefixlen and gateway in net:
            raise VipError('destinations: %s holds the gateway %s itself; the gateway must stay reachable on its '
                           'connected subnet' % (net, gateway))
        if net.is_multicast or (net.prefixlen and (net.network_address.is_loopback or net.network_address.is_link_local)):
            raise VipError('destinations: %s is a multicast, loopback or link-local prefix' % net)
        if net not in result:
            result.append(net)
    return result


def normalize_metric(metric, family):
    if metric is None:
        return DEFAULT_METRIC[family]
    if isinstance(metric, bool) or not isinstance(metric, int) or metric < 0 or metric > MAX_METRIC:
        raise VipError('metric: must be an integer from 0 to %d, got %r' % (MAX_METRIC, metric))
    return metric


def destination_text(net):
    return 'default' if net.prefixlen == 0 else str(net)


def route_text(route):
    """'default via 10.97.1.1 dev natdum0 metric 0', as ip route shows it."""
    words = [destination_text(route.dst)]
    if route.gateway is not None:
        words += ['via', str(route.gateway)]
    if route.device:
        words += ['dev', route.device]
    words += ['metric', str(route.metric)]
    return ' '.join(words)


def choose_device(gateway, addresses, device=None):
    """The device to reach the gateway on: the one whose connected subnet holds it (the longest
    prefix wins). addresses: [(device name, ip_interface)] of the host. Raises VipError naming
    the option when the gateway is the host's own, or on no (or no single) connected subnet."""
    for name, iface in addresses:
        if iface.ip == gateway:
            raise VipError('gateway: %s is an address of this host (on %s); give the director\'s inside address' % (gateway, name))
    best = {}
    for name, iface in addresses:
        net = iface.network
        if net.version != gateway.version or gateway not in net or net.prefixlen == net.max_prefixlen:
            continue
        if net.version == 4 and net.prefixlen < 31 and gateway in (net.network_address, net.broadcast_address):
            raise VipError('gateway: %s is the network or broadcast address of %s on %s' % (gateway, net, name))
        best[name] = max(best.get(name, -1), net.prefixlen)
    if device is not None:
        if device not in best:
            raise VipError('gateway: %s is not in a subnet connected to %s (%s has %s); give the director\'s inside '
                           'address on that device, or the right device'
                           % (gateway, device, device,
                              ', '.join(vip.address_text(i) for n, i in addresses if n == device) or 'no address'))
        return device
    if not best:
        raise VipError('gateway: no device of this host has a connected subnet holding %s; set device, or give the '
                       'director\'s inside address on a subnet of this host' % gateway)
    longest = max(best.values())
    names = sorted(name for name in best if best[name] == longest)
    if len(names) > 1:
        raise VipError('device: %s is in a connected subnet of several devices (%s); set device' % (gateway, ', '.join(names)))
    return names[0]


# ---------------------------------------------------------------- planning

def plan_routes(current, wanted, state):
    """(to_set, to_delete, replaced): the kernel's routes are identified by destination and metric.

    present: a wanted route missing or different (gateway, device) is set with `replace`; the route it
    replaces is reported. absent: the route goes only when it goes via the wanted gateway (and device,
    when one is known): a route to the same destination through another router is not ours."""
    to_set, to_delete, replaced = [], [], []
    for route in wanted:
        same = [c for c in current if c.dst == route.dst and c.metric == route.metric]
        if state == 'present':
            if any(c.gateway == route.gateway and c.device == route.device for c in same):
                continue
            to_set.append(route)
            replaced.extend(same[:1])
        else:
            to_delete.extend(c for c in same if c.gateway == route.gateway
                             and (route.device is None or c.device == route.device))
    return to_set, to_delete, replaced
