# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the realserver role needs on one host from the expanded estate: VIPs per device, ARP, TUN, NAT route.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.plugin_utils import _director_plan, _estate
from ansible_collections.lvs.cluster.plugins.plugin_utils._values import PlanError


def realserver_plan(expanded, host):
    """What one real server needs for the services it serves: VIPs per device, ARP, TUN, NAT route."""
    plan = {'lo': [], 'tunl0': [], 'ip6tnl0': [], 'kernel_modules': [], 'arp': False, 'tun': False,
            'nat_gateway': None, 'services': []}
    gateways = {}
    for svc in _estate.served_by(expanded, host):
        if svc['state'] != 'present' or svc['member']['state'] == 'absent' or svc['mode'] == 'proxy':
            continue  # a proxy's real servers need nothing of LVS
        plan['services'].append(svc['name'])
        mode = svc['mode']
        if mode in ('dr', 'tun'):
            plan['arp'] = True
        if mode == 'dr' and 'address' in svc:
            device = 'lo'
        elif mode == 'tun':
            plan['tun'] = True
            device = 'ip6tnl0' if svc['family'] == 'ipv6' else 'tunl0'
            plan['kernel_modules'].extend(module for module in _director_plan.tunnel_modules(svc)
                                          if module not in plan['kernel_modules'])
        else:
            device = None
        if device and 'address' in svc and svc['address'] not in plan[device]:
            plan[device].append(svc['address'])
        if mode == 'nat':
            gateways.setdefault(svc['member']['nat_gateway'], []).append(svc['name'])
    if len(gateways) > 1:
        raise PlanError('host %s serves NAT services with different gateways (%s); a host has one default route, '
                        'so they must all name the same director address'
                        % (host, '; '.join('%s for %s' % (gw, ', '.join(names)) for gw, names in sorted(gateways.items()))))
    if gateways:
        plan['nat_gateway'] = list(gateways)[0]
    return plan


LIST_KEYS = ('lo', 'tunl0', 'ip6tnl0', 'kernel_modules', 'services')


def record_union(previous, plan):
    """The real server's record as written before a run changes anything: all that the previous record and this
    run's plan set (lists joined, flags or'ed, the old NAT gateway kept), so that a run stopped part-way leaves
    nothing on the host that the record does not name. Equal to the plan when nothing changes."""
    previous = previous or {}
    union = dict(plan)
    for key in LIST_KEYS:
        old = list(previous.get(key) or [])
        union[key] = old + [item for item in plan.get(key) or [] if item not in old]
    for key in ('arp', 'tun'):
        union[key] = bool(previous.get(key)) or bool(plan.get(key))
    union['nat_gateway'] = previous.get('nat_gateway') or plan.get('nat_gateway')
    return union
