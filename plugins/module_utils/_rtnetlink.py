# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rtnetlink calls of lo_vip, director_vip and nat_route, over one pyroute2 IPRoute socket:
links, addresses and the main table's unicast routes.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import ipaddress

IFF_UP = 0x1
IFF_NOARP = 0x80
RT_TABLE_MAIN = 254
RTN_UNICAST = 1
RTPROT_BOOT = 3  # what `ip route` sets
AF = {4: 2, 6: 10}  # AF_INET, AF_INET6

# One route of the main table: dst an ip_network, gateway an ip_address (None for a multipath
# or device route), device a name (None when unknown).
Route = collections.namedtuple('Route', 'dst metric gateway device')


def ip_or_none(value):
    """An ip_address, or None for text that is not one (files the host wrote by hand)."""
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _message_address(message):
    address = message.get_attr('IFA_LOCAL') or message.get_attr('IFA_ADDRESS')
    if address is None:
        return None
    return ipaddress.ip_interface('%s/%d' % (address, message['prefixlen']))


class Netlink(object):
    """One IPRoute session."""

    def __init__(self):
        from pyroute2 import IPRoute  # imported here: the module checks for pyroute2 first
        self.ipr = IPRoute()

    def close(self):
        self.ipr.close()

    # ------------------------------------------------------------ links

    def link(self, device):
        """(index, is_up) or None when the device does not exist."""
        indexes = self.ipr.link_lookup(ifname=device)
        if not indexes:
            return None
        index = indexes[0]
        return index, bool(self.link_flags(index) & IFF_UP)

    def link_flags(self, index):
        """The IFF_* flags of the device."""
        return list(self.ipr.get_links(index))[0]['flags']

    def set_up(self, index, up=True):
        self.ipr.link('set', index=index, state='up' if up else 'down')

    def names(self):
        return dict((link['index'], link.get_attr('IFLA_IFNAME')) for link in self.ipr.get_links())

    # ------------------------------------------------------------ addresses

    def addresses(self, index):
        return [iface for iface in (_message_address(m) for m in self.ipr.get_addr(index=index)) if iface is not None]

    def all_addresses(self):
        """[(device name, ip_interface)] of every address of the host."""
        names = self.names()
        result = []
        for message in self.ipr.get_addr():
            iface = _message_address(message)
            if iface is not None:
                result.append((names.get(message['index'], str(message['index'])), iface))
        return result

    def add(self, index, iface):
        self.ipr.addr('add', index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen)

    def delete(self, index, iface):
        self.ipr.addr('del', index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen)

    # ------------------------------------------------------------ routes

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

    def _route_spec(self, route):
        spec = dict(family=AF[route.dst.version], dst=str(route.dst.network_address), dst_len=route.dst.prefixlen,
                    table=RT_TABLE_MAIN, priority=route.metric)
        if route.gateway is not None:
            spec['gateway'] = str(route.gateway)
        if route.device is not None:
            spec['oif'] = self.ipr.link_lookup(ifname=route.device)[0]
        return spec

    def replace_route(self, route):
        self.ipr.route('replace', proto=RTPROT_BOOT, scope=0, type=RTN_UNICAST, **self._route_spec(route))

    def delete_route(self, route):
        self.ipr.route('del', **self._route_spec(route))
