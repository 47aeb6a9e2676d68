# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for the nat_route module: gateway, destination and metric validation, choosing the
device whose connected subnet holds the gateway, route planning, systemd-networkd ([Route]
drop-ins) and ifupdown (`up ip route replace` lines) persistence, what the host's own
configuration gives for a destination (to put it back on removal), and the netlink calls.

Private to this collection: its interface may change without notice.
Everything above the RouteNetlink class is pure. Reuses _vip for files and the netlink session.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import ipaddress
import os

from ansible_collections.lvs.cluster.plugins.module_utils import _vip as vip

VipError = vip.VipError

ROUTE_MARK = 'Managed by Ansible (lvs.cluster.nat_route)'
ROUTE_DROPIN_PREFIX = 'lvs-nat-route-'
ROUTE_IFUPDOWN_TEMPLATE = 'lvs-cluster-nat-route-%s'
# What the kernel stores when a route is added without a metric (and networkd without Metric=).
DEFAULT_METRIC = {4: 0, 6: 1024}
MAX_METRIC = 4294967295
RT_TABLE_MAIN = 254
RTN_UNICAST = 1
AF = {4: 2, 6: 10}  # AF_INET, AF_INET6

# One route of the main table as the module sees it: dst an ip_network, gateway an ip_address
# (None for a multipath or device route), device a name (None when unknown).
Route = collections.namedtuple('Route', 'dst metric gateway device')


# ---------------------------------------------------------------- validation

def normalize_gateway(text):
    if not isinstance(text, str) or not text.strip():
        raise VipError('gateway: the director\'s inside address is required, got %r' % (text,))
    raw = text.strip()
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


# ---------------------------------------------------------------- systemd-networkd

def _dst_token(net):
    return 'default%d' % net.version if net.prefixlen == 0 else '%s-%d' % (str(net.network_address).replace(':', '-'), net.prefixlen)


def networkd_dropin_name(route):
    """lvs-nat-route-default4-m0.conf, lvs-nat-route-10.97.200.0-24-m10.conf, lvs-nat-route-fd97-1---64-m1024.conf.

    Named by destination and metric, the two that identify a route to the kernel."""
    return '%s%s-m%d.conf' % (ROUTE_DROPIN_PREFIX, _dst_token(route.dst), route.metric)


def networkd_dropin_glob(dst, metric):
    return '%s%s-m%d.conf' % (ROUTE_DROPIN_PREFIX, _dst_token(dst), metric)


def render_networkd_dropin(route, explicit_metric):
    """A [Route] section; Metric= only when the option was given (networkd then leaves the kernel's default)."""
    lines = ['# %s\n' % ROUTE_MARK, '[Route]\n', 'Destination=%s\n' % route.dst, 'Gateway=%s\n' % route.gateway]
    if explicit_metric:
        lines.append('Metric=%d\n' % route.metric)
    return ''.join(lines)


def parse_networkd_routes(text):
    """[(destination or None, gateway or None, metric or None)] of the [Route] sections and [Network]
    Gateway= lines of a .network file or drop-in (unparsable values come back as None)."""
    result = []
    current = None
    for section, key, value in _sections(text):
        if section == 'Network' and key == 'Gateway':
            result.append([None, _ip_or_none(value), None])
        elif section == 'Route':
            if key == '__start__':
                current = [None, None, None]
                result.append(current)
            elif key == 'Destination':
                current[0] = _net_or_none(value)
            elif key == 'Gateway':
                current[1] = _ip_or_none(value)
            elif key == 'Metric':
                current[2] = int(value) if value.isdigit() else None
    return [tuple(item) for item in result]


def _sections(text):
    """parse_unit with a ('Route', '__start__', '') entry at the start of each [Route] section."""
    entries = []
    section = None
    for raw in (text or '').splitlines():
        line = raw.strip()
        if not line or line[0] in '#;':
            continue
        if line.startswith('[') and line.endswith(']'):
            section = line[1:-1].strip()
            if section == 'Route':
                entries.append((section, '__start__', ''))
            continue
        if '=' not in line or section is None:
            continue
        key, _sep, value = line.partition('=')
        entries.append((section, key.strip(), value.strip()))
    return entries


def _ip_or_none(value):
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _net_or_none(value):
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def _dhcp_families(value):
    value = value.strip().lower()
    if value in ('yes', 'true', 'on', '1', 'both'):
        return (4, 6)
    if value == 'ipv4':
        return (4,)
    if value == 'ipv6':
        return (6,)
    return ()


def networkd_gives_route(text, dst):
    """Why a .network file (with its drop-ins, concatenated) gives the host a route to dst, or None.

    A [Route] with that Destination= (none or a zero-length one for the default route), a
    [Network] Gateway= for the default route, or, for the default route, DHCP (and IPv6 router
    advertisements, on unless IPv6AcceptRA=no) that may bring one. Our own drop-ins are not in text."""
    for route_dst, gateway, _metric in parse_networkd_routes(text):
        if route_dst is None and gateway is None:
            continue
        family = (route_dst or gateway).version
        if family != dst.version:
            continue
        if (route_dst is None and dst.prefixlen == 0) or route_dst == dst:
            return 'a route to %s (Gateway=%s)' % (destination_text(dst), gateway or 'none')
    if dst.prefixlen == 0:
        for section, key, value in vip.parse_unit(text or ''):
            if section == 'Network' and key == 'DHCP' and dst.version in _dhcp_families(value):
                return 'DHCP=%s' % value
        if dst.version == 6:
            accept = [value for section, key, value in vip.parse_unit(text or '') if section == 'Network' and key == 'IPv6AcceptRA']
            if accept and accept[-1].lower() in ('yes', 'true', 'on', '1'):
                return 'IPv6AcceptRA=%s' % accept[-1]
    return None


# ---------------------------------------------------------------- ifupdown

def ifupdown_path(device):
    return os.path.join(vip.IFUPDOWN_DIR, ROUTE_IFUPDOWN_TEMPLATE % vip.ifupdown_safe_name(device))


def ip_route_words(route):
    """The arguments of `ip route replace` and `ip route del` for the route."""
    words = ['ip']
    if route.dst.version == 6:
        words.append('-6')
    return words, [str(route.dst), 'via', str(route.gateway), 'dev', route.device, 'metric', str(route.metric)]


def render_ifupdown(device, routes):
    """One `iface <device> inet|inet6 manual` stanza per family with an `up ip route replace` and a
    `down ip route del` line per route, run when the host's own configuration brings the device up."""
    if not routes:
        return None
    lines = ['# %s: routes via %s, set when ifupdown brings %s up.\n' % (ROUTE_MARK, device, device)]
    for family in (4, 6):
        chosen = sorted((r for r in routes if r.dst.version == family), key=lambda r: (int(r.dst.network_address), r.dst.prefixlen, r.metric))
        if not chosen:
            continue
        lines.append('iface %s %s manual\n' % (device, 'inet' if family == 4 else 'inet6'))
        for route in chosen:
            head, tail = ip_route_words(route)
            lines.append('    up %s\n' % ' '.join(head + ['route', 'replace'] + tail))
            lines.append('    down %s || true\n' % ' '.join(head + ['route', 'del'] + tail))
    return ''.join(lines)


def parse_ifupdown(text, device):
    """The routes of the `up ip [-6] route replace DST via GW dev DEV metric M` lines of our file."""
    result = []
    for raw in (text or '').splitlines():
        words = raw.split()
        if len(words) < 2 or words[0] != 'up' or words[1] != 'ip':
            continue
        words = [w for w in words[2:] if w not in ('-6', '-4')]
        if words[:2] != ['route', 'replace'] or len(words) < 3:
            continue
        args = dict(zip(words[3::2], words[4::2]))
        dst = _net_or_none(words[2]) if words[2] != 'default' else None
        gateway = _ip_or_none(args.get('via', ''))
        if dst is None or gateway is None or args.get('dev') != device:
            continue
        metric = args.get('metric', '')
        result.append(Route(dst, int(metric) if metric.isdigit() else DEFAULT_METRIC[dst.version], gateway, device))
    return result


def ifupdown_gateways(text):
    """[Route] of the default routes the host's own ifupdown stanzas give: the `gateway` line (and
    `metric` line) of each `iface DEV inet|inet6 static` stanza, as ifupdown's static method sets them."""
    result = []
    stanza = None
    for raw in (text or '').splitlines():
        words = raw.split()
        if not words or words[0].startswith('#'):
            continue
        if words[0] in ('iface', 'auto', 'allow-hotplug', 'allow-auto', 'mapping', 'source', 'source-directory'):
            if stanza is not None and stanza['gateway'] is not None:
                result.append(stanza)
            stanza = None
            if words[0] == 'iface' and len(words) >= 4 and words[2] in ('inet', 'inet6') and words[3] == 'static':
                stanza = {'device': words[1], 'family': 4 if words[2] == 'inet' else 6, 'gateway': None, 'metric': None}
            continue
        if stanza is not None and words[0] == 'gateway' and len(words) >= 2:
            stanza['gateway'] = _ip_or_none(words[1])
        elif stanza is not None and words[0] == 'metric' and len(words) >= 2 and words[1].isdigit():
            stanza['metric'] = int(words[1])
    if stanza is not None and stanza['gateway'] is not None:
        result.append(stanza)
    routes = []
    for item in result:
        if item['gateway'].version != item['family']:
            continue
        dst = ipaddress.ip_network('0.0.0.0/0' if item['family'] == 4 else '::/0')
        metric = item['metric'] if item['metric'] is not None else DEFAULT_METRIC[item['family']]
        routes.append(Route(dst, metric, item['gateway'], item['device']))
    return routes


# ---------------------------------------------------------------- netlink

class RouteNetlink(vip.Netlink):
    """Route calls on top of _vip.Netlink's session (main table, unicast routes only)."""

    def names(self):
        return dict((link['index'], link.get_attr('IFLA_IFNAME')) for link in self.ipr.get_links())

    def all_addresses(self):
        """[(device name, ip_interface)] of every address of the host."""
        names = self.names()
        result = []
        for message in self.ipr.get_addr():
            address = message.get_attr('IFA_LOCAL') or message.get_attr('IFA_ADDRESS')
            if address is None:
                continue
            result.append((names.get(message['index'], str(message['index'])),
                           ipaddress.ip_interface('%s/%d' % (address, message['prefixlen']))))
        return result

    def routes(self, family):
        """[Route] of the main table's unicast routes of the family."""
        names = self.names()
        result = []
        for message in self.ipr.get_routes(family=AF[family]):
            table = message.get_attr('RTA_TABLE') or message['table']
            if table != RT_TABLE_MAIN or message['type'] != RTN_UNICAST:
                continue
            dst = message.get_attr('RTA_DST') or ('0.0.0.0' if family == 4 else '::')
            gateway = message.get_attr('RTA_GATEWAY')
            oif = message.get_attr('RTA_OIF')
            metric = message.get_attr('RTA_PRIORITY')
            result.append(Route(ipaddress.ip_network('%s/%d' % (dst, message['dst_len'])),
                                metric if metric is not None else 0,
                                ipaddress.ip_address(gateway) if gateway else None,
                                names.get(oif) if oif else None))
        return result

    def _spec(self, route, index):
        spec = dict(family=AF[route.dst.version], dst=str(route.dst.network_address), dst_len=route.dst.prefixlen,
                    table=RT_TABLE_MAIN, priority=route.metric)
        if route.gateway is not None:
            spec['gateway'] = str(route.gateway)
        if index is not None:
            spec['oif'] = index
        return spec

    def replace_route(self, route, index):
        self.ipr.route('replace', proto=3, scope=0, type=RTN_UNICAST, **self._spec(route, index))  # proto 3: boot (as ip route)

    def delete_route(self, route, index=None):
        self.ipr.route('del', **self._spec(route, index))
