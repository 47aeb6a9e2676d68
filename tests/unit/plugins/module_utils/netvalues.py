# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Short constructors for the address, network and route values the network tests compare against."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.lvs.cluster.plugins.module_utils import _persist as persist
from ansible_collections.lvs.cluster.plugins.module_utils._route import DEFAULT_METRIC
from ansible_collections.lvs.cluster.plugins.module_utils._rtnetlink import Route


def iface(text):
    return ipaddress.ip_interface(text)


def ip(text):
    return ipaddress.ip_address(text)


def net(text):
    return ipaddress.ip_network(text)


def route(dst, gateway, device='natdum0', metric=None):
    """A route as _rtnetlink reads it; the kernel's default metric of the family unless given."""
    dst = net(dst)
    return Route(dst, DEFAULT_METRIC[dst.version] if metric is None else metric, ip(gateway) if gateway else None,
                 device)


# The three owners of persistence files, as lo_vip, director_vip and nat_route declare them.
LO_VIP = persist.Owner('Managed by Ansible (lvs.cluster.lo_vip)', 'lvs-vip-', 'lvs-cluster-vip-%s', True, True, False)
DIRECTOR = persist.Owner('Managed by Ansible (lvs.cluster.director_vip)', 'lvs-director-vip-',
                         'lvs-cluster-director-vip-%s', False, False, True)
NAT_ROUTE = persist.Owner('Managed by Ansible (lvs.cluster.nat_route)', 'lvs-nat-route-', 'lvs-cluster-nat-route-%s',
                          False, False, True)
