# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real servers that are not ready join no pool.

A real server whose preparation failed in this run, or that Ansible could not reach, may lack the VIP on
``lo``, its ARP settings or its route back, or not exist at all: a pool that takes it in sends it new
connections until a health check notices (for good, on a director service without one). So such a host
is left out of every pool it would join. Where it serves already (the owner's live pool has it), it is
kept: taking it out on the strength of one failed run would change a serving pool on what the controller
saw, not on what the owner sees, and its owner's checks judge it there.

An owner's live pool is what it runs now: the kernel's IPVS table for the director and keepalived (from
lvs.cluster.ipvs_info), the live configuration file for haproxy and nginx.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.lvs.cluster.plugins.plugin_utils import _director_plan, _estate, _ipvs_rules
from ansible_collections.lvs.cluster.plugins.plugin_utils._values import PlanError


def _serving(svc, kernel_services, live_config):
    """A test of whether a member is in the owner's live pool of this service."""
    if svc['mode'] == 'proxy':
        text = live_config or ''

        def in_config(member):
            # ADDRESS:PORT as haproxy writes it, [ADDRESS]:PORT as nginx writes IPv6, not part of a longer one
            pattern = r'(?<![\w.:\[])\[?%s\]?:%d(?!\d)' % (re.escape(member['address']), member['port'])
            return re.search(pattern, text) is not None
        return in_config
    by_address = 'fwmark' in svc  # keepalived programs a firewall-mark service's servers without their port
    live = {server['address'] if by_address else (server['address'], server['port'])
            for server in _director_plan.kernel_servers(_ipvs_rules.service_ident(svc), kernel_services)}

    def in_kernel(member):
        return (member['address'] if by_address else (member['address'], member['port'])) in live
    return in_kernel


def ready_members(expanded, unready, kernel_services=None, live_config=None):
    """The expanded estate with the members on unready hosts left out, unless the owner's pool has them now.

    unready lists inventory hosts; kernel_services is ipvs_info's ``services`` (for IPVS services),
    live_config the text of the live haproxy or nginx configuration (for proxy services). An owner reads
    only its own services' pools, so a role passes the one it has; without it, no unready host is kept.
    """
    if kernel_services is not None and not isinstance(kernel_services, list):
        raise PlanError('ready_members: kernel_services must be the list ipvs_info returns, not %r' % type(kernel_services).__name__)
    if live_config is not None and not isinstance(live_config, str):
        raise PlanError('ready_members: live_config must be the text of a configuration, not %r' % type(live_config).__name__)
    unready = set(unready or [])
    if not unready:
        return expanded
    result = []
    for svc in expanded:
        serving = _serving(svc, kernel_services, live_config)

        def keep(members):
            return [member for member in members if member['host'] not in unready or serving(member)]
        svc = dict(svc, members=keep(svc['members']))
        if 'member_index' in svc:
            svc['member_index'] = _estate.member_index(svc['members'])
        if 'routes' in svc:
            svc['routes'] = [dict(route, members=keep(route.get('members', []))) for route in svc['routes']]
        result.append(svc)
    return result


def left_out(expanded, ready):
    """What ready_members left out, as 'host (service)' strings in the estate's order."""
    result = []
    for before, after in zip(expanded, ready):
        pools = [(before['members'], after['members'])]
        pools += [(old.get('members', []), new.get('members', []))
                  for old, new in zip(before.get('routes', []), after.get('routes', []))]
        for old, new in pools:
            kept = {member['host'] for member in new}
            for member in old:
                entry = '%s (%s)' % (member['host'], before['name'])
                if member['host'] not in kept and entry not in result:
                    result.append(entry)
    return result
