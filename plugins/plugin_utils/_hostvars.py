# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one reader of host variables for the estate and the plans: a new per-host variable is added here only.

Ansible's HostVars is lazy and templates each variable on access; the plans read only these, once per host.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# What the estate reads of each host (docs/estate.md, "Host variables").
HOST_VARIABLES = ('lvs_address', 'lvs_address_ipv6', 'ansible_host', 'lvs_port', 'lvs_weight', 'lvs_overrides', 'lvs_nat_gateway')


def read_hostvars(hostvars, groups, hosts=()):
    """{host: {variable: value}} for every host of the groups (and the hosts given), HOST_VARIABLES only."""
    plain = {}
    for members in list((groups or {}).values()) + [list(hosts)]:
        for host in members:
            if host in plain:
                continue
            hvars = hostvars[host] if host in hostvars else {}
            plain[host] = {key: hvars[key] for key in HOST_VARIABLES if key in hvars}
    return plain
