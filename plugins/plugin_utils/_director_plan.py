# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the director role needs from the expanded estate: kernel modules, sysctls, VIPs, the boot-time
table, its records of what it programmed, and which real servers and services leave.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.plugin_utils import _ipvs_rules, _services

# The kernel module each tunnel type needs besides ipip / ip6_tunnel.
TUNNEL_MODULES = {'ipip': None, 'gue': 'fou', 'gre': 'ip_gre'}


def tunnel_modules(svc):
    """The kernel modules a tun service needs on both ends."""
    modules = ['ip6_tunnel' if svc['family'] == 'ipv6' else 'ipip', TUNNEL_MODULES[svc.get('tunnel_type', 'ipip')]]
    return [module for module in modules if module]


def director_plan(expanded, ipvs_sysctls=None):
    """What a director needs: modules and sysctls for every service it runs (whoever programs IPVS for it),
    and VIPs, the saved table and records for the services it owns.

    Services keepalived owns run in the same kernel (keepalived programs them), so their schedulers, tunnel
    modules and forwarding sysctls are the director's too; their idents are listed in ``foreign`` so that
    a service handed over to keepalived is never removed by the director (see removed_services).
    """
    owned = [svc for svc in expanded if svc['owner'] == 'director']
    present = [svc for svc in owned if svc['state'] == 'present']
    running = [svc for svc in expanded if svc['state'] == 'present' and svc['mode'] in _services.IPVS_MODES]
    modules = ['ip_vs']
    sysctls = {}
    for svc in running:
        wanted = ['ip_vs_' + svc['scheduler']]
        if svc.get('persistence_engine'):
            wanted.append('ip_vs_pe_' + svc['persistence_engine'])
        if svc['mode'] == 'tun':
            wanted.extend(tunnel_modules(svc))
        modules.extend(module for module in wanted if module not in modules)
        if svc['mode'] in ('nat', 'snat'):
            sysctls['net.ipv6.conf.all.forwarding' if svc['family'] == 'ipv6' else 'net.ipv4.ip_forward'] = 1
        if svc['mode'] == 'snat':
            sysctls['net.ipv4.vs.conntrack'] = 1
            modules.extend(m for m in ('nf_conntrack', 'xt_ipvs', 'iptable_nat') if m not in modules)
    if running:
        # A packet of a connection whose real server was drained or removed is otherwise dropped until the entry
        # expires (minutes, for a reused client port); with this the entry goes and the connection is scheduled
        # afresh. ipvs_sysctls may set it back to 0.
        sysctls['net.ipv4.vs.expire_nodest_conn'] = 1
    for name, value in sorted((ipvs_sysctls or {}).items()):
        key = name if name.startswith('net.') else 'net.ipv4.vs.' + name
        # as sysctl prints it, so that the role can compare the kernel's value with this one
        sysctls[key] = int(value) if isinstance(value, bool) else value
    records = []
    for svc in owned:
        record = _ipvs_rules.service_ident(svc)
        record.update({'name': svc['name'], 'drain_timeout': svc['drain_timeout'], 'state': svc['state']})
        records.append(record)
    snat = [{key: svc[key] for key in ('name', 'address', 'port', 'protocol')} for svc in present if svc['mode'] == 'snat']
    return {
        'services': [svc['name'] for svc in present],
        'absent': [svc['name'] for svc in owned if svc['state'] == 'absent'],
        'kernel_modules': modules,
        'sysctls': sysctls,
        'vips': sorted({svc['address'] for svc in present if 'address' in svc}),
        'records': records,
        'rules': _ipvs_rules.ipvsadm_rules(present),
        'snat': snat,
        'foreign': [_ipvs_rules.service_ident(svc) for svc in running if svc['owner'] != 'director'],
    }


def removed_services(previous_records, plan):
    """Services a director programmed before that the estate no longer declares (or declares absent)."""
    current = {_record_key(r) for r in plan['records'] if r['state'] == 'present'}
    # A service another owner (keepalived) now programs is not the director's to remove.
    current.update(_record_key(ident) for ident in plan.get('foreign', []))
    removed, seen = [], set()
    for record in list(previous_records or []) + [r for r in plan['records'] if r['state'] == 'absent']:
        key = _record_key(record)
        if key not in current and key not in seen:
            seen.add(key)
            removed.append(record)
    return removed


def _record_key(record):
    if record.get('fwmark') is not None:
        return ('fwmark', record.get('family', 'ipv4'), int(record['fwmark']))
    return (record.get('protocol', 'tcp'), str(record['address']), int(record['port']))


def kernel_servers(ident, kernel_services):
    """The real servers (address, port) the kernel holds for one service, named by service_ident or a record."""
    key = _record_key(ident)
    for kernel in kernel_services or []:
        if kernel.get('fwmark'):
            kernel_key = ('fwmark', kernel.get('family'), kernel['fwmark'])
        else:
            kernel_key = (kernel.get('protocol'), kernel.get('address'), kernel.get('port'))
        if kernel_key == key:
            return [{'address': server['address'], 'port': server['port']} for server in kernel.get('servers', [])]
    return []


def leaving_servers(svc, kernel_services, by_address=False):
    """Real servers the kernel has in this service that the estate no longer lists (to drain first).

    by_address compares addresses only: keepalived programs a firewall-mark service's real servers without
    their port, so the kernel's port says nothing there."""
    def key(address, port):
        return address if by_address else (address, port)
    wanted = {key(m['address'], m['port']) for m in svc['members'] if m['state'] != 'absent'}
    return [server for server in kernel_servers(_ipvs_rules.service_ident(svc), kernel_services)
            if key(server['address'], server['port']) not in wanted]
