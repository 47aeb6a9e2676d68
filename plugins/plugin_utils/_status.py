# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One view of the whole estate: what the kernels and the VIP holders do, set against what the estate declares.

Input is the expanded estate and, per host read, what playbooks/status.yml observed there: the IPVS table (from
lvs.cluster.ipvs_info, directors only), the addresses of its interfaces (``ip -json address``) and whether its
keepalived runs. A host that could not be read is None. Every difference is a finding:

- ``drift`` (the kernel differs from what the estate's owner would program: a missing or extra service, a setting,
  a weight, a real server missing where no checker runs), ``vip`` (a VIP no host holds, or that several hold),
  ``unreachable``: someone should look;
- ``health`` (keepalived's checker took a real server out or set its weight to 0, or put its sorry server in),
  ``drain`` (a real server at weight 0 that the estate no longer lists, its connections ending): the estate doing
  its job, shown so that the operator sees it.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_values
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import show_value
from ansible_collections.lvs.cluster.plugins.plugin_utils import _ipvs_rules

# Compared between the estate and the kernel. keepalived programs the same settings from the same estate; the
# tunnel settings are left out, as keepalived's versions differ in which they set.
SERVICE_SETTINGS = ('scheduler', 'persistence_timeout', 'persistence_netmask', 'persistence_engine', 'one_packet',
                    'sh_fallback', 'sh_port', 'mh_fallback', 'mh_port')
SERVER_SETTINGS = ('forwarding', 'weight', 'upper_threshold', 'lower_threshold')
# What the operator must act on; the other kinds (health, drain) are the estate at work.
DRIFT_KINDS = ('drift', 'vip', 'unreachable')
RATE_KEYS = ('connections', 'incoming_packets', 'outgoing_packets', 'incoming_bytes', 'outgoing_bytes')


def interface_addresses(ip_json):
    """The addresses on a host's interfaces other than lo, from ``ip -json address`` (DR real servers and ECMP
    directors hold VIPs on lo without answering for them, so lo says nothing about who holds a VIP)."""
    if not ip_json:
        return []
    links = json.loads(ip_json) if isinstance(ip_json, str) else ip_json
    return sorted({info['local'] for link in links if link.get('ifname') != 'lo'
                   for info in link.get('addr_info', []) if info.get('local')})


def _server_key(svc, address, port):
    # keepalived programs a firewall-mark service's real servers without their port
    return address if 'fwmark' in svc else (address, port)


def _ident_text(svc):
    """A service as the messages name it, from the estate or from ipvs_info (whose fwmark is None when unset)."""
    if svc.get('fwmark'):
        return 'fwmark %s%s' % (svc['fwmark'], ' ipv6' if svc.get('family') == 'ipv6' else '')
    return '%s %s' % (svc['protocol'], _ipvs_values.format_endpoint(svc['family'], svc['address'], svc['port']))


def _rates(record):
    """The per-second rates of an ipvs_info service or real server."""
    return dict((key, (record.get('rates') or {}).get(key, 0)) for key in RATE_KEYS)


def _server_view(kernel_server):
    view = {key: kernel_server.get(key) for key in SERVER_SETTINGS}
    for key in ('active_connections', 'inactive_connections', 'persistent_connections'):
        view[key] = kernel_server.get(key, 0)
    view['rates'] = _rates(kernel_server)
    return view


class _Findings(list):
    def add(self, kind, message, host=None, service=None, server=None):
        self.append({'kind': kind, 'host': host, 'service': service, 'server': server, 'message': message})


def estate_status(expanded, observed, directors):
    """The estate's status: hosts, services (with VIP holders and each real server as each director's kernel has
    it), kernel services nobody declared, and the findings. See the module docstring."""
    findings = _Findings()
    hosts = []
    for host in sorted(observed):
        seen = observed[host]
        if seen is None:
            hosts.append({'host': host, 'reachable': False, 'director': host in directors})
            findings.add('unreachable', '%s could not be read' % host, host=host)
            continue
        hosts.append({'host': host, 'reachable': True, 'director': host in directors,
                      'keepalived': seen.get('keepalived') or 'absent',
                      'addresses': interface_addresses(seen.get('addresses'))})
        if host in directors and seen.get('ipvs') is None:
            findings.add('unreachable', '%s: its IPVS table could not be read: %s' % (host, seen.get('ipvs_error') or 'no answer'),
                         host=host)
    addresses = {entry['host']: set(entry['addresses']) for entry in hosts if entry['reachable']}
    tables = {host: {_ipvs_values.service_key(kernel): kernel for kernel in observed[host]['ipvs']}
              for host in directors if observed.get(host) and observed[host].get('ipvs') is not None}
    declared = set()
    services = []
    for svc in expanded:
        if svc['mode'] == 'proxy':
            services.append(_proxy_view(svc, addresses, observed, findings))
            continue
        view, key = _ipvs_view(svc, directors, tables, addresses, findings)
        declared.add(key)
        services.append(view)
    undeclared = []
    for host in sorted(tables):
        for key, kernel in sorted(tables[host].items(), key=lambda item: _ipvs_values.sort_key(item[1])):
            if key in declared:
                continue
            text = _ident_text(kernel)
            undeclared.append({'host': host, 'service': text, 'scheduler': kernel.get('scheduler'),
                               'servers': [_ipvs_values.format_endpoint(kernel['family'], s['address'], s['port'])
                                           for s in kernel.get('servers', [])]})
            findings.add('drift', '%s: %s is in the kernel and no service of the estate declares it' % (host, text),
                         host=host, service=text)
    return {
        'directors': list(directors),
        'hosts': hosts,
        'services': services,
        'undeclared': undeclared,
        'findings': list(findings),
        'drift': len([finding for finding in findings if finding['kind'] in DRIFT_KINDS]),
    }


def _holders(vip, addresses, candidates):
    return [host for host in candidates if vip in addresses.get(host, ())]


def _vip_findings(svc, holders, readable, findings):
    if svc['state'] != 'present' or not readable:
        return
    if not holders:
        findings.add('vip', '%s: no host holds its VIP %s' % (svc['name'], svc['address']), service=svc['name'])
    elif len(holders) > 1:
        findings.add('vip', '%s: its VIP %s is held by %s at once' % (svc['name'], svc['address'], ', '.join(holders)),
                     service=svc['name'])


def haproxy_stats(csv_text):
    """{backend: {server: state}} from haproxy's ``show stat`` (CSV, its first line naming the columns); each state
    with ``status`` (UP, DOWN, DRAIN, MAINT, "no check"; "UP 1/2" and the like while a check is changing its
    mind), ``weight``, ``sessions`` (current) and ``rate`` (new sessions per second)."""
    lines = [line for line in (csv_text or '').splitlines() if line.strip()]
    if not lines or not lines[0].startswith('# '):
        return {}
    names = lines[0][2:].split(',')
    pools = {}
    for line in lines[1:]:
        row = dict(zip(names, line.split(',')))
        if row.get('svname') in (None, 'FRONTEND', 'BACKEND'):
            continue
        pools.setdefault(row['pxname'], {})[row['svname']] = {
            'status': row.get('status', ''), 'weight': _int(row.get('weight')),
            'sessions': _int(row.get('scur')), 'rate': _int(row.get('rate'))}
    return pools


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _proxy_view(svc, addresses, observed, findings):
    """A proxy service: who holds its VIP and, for haproxy, each pool's servers as each proxy host's haproxy sees
    them (nginx open source has no such view: its cells stay empty)."""
    candidates = list(svc['proxy_hosts'])
    holders = _holders(svc['address'], addresses, candidates)
    _vip_findings(svc, holders, any(host in addresses for host in candidates), findings)
    view = {'name': svc['name'], 'mode': 'proxy', 'owner': svc['owner'], 'state': svc['state'],
            'service': _ident_text(svc),
            'vip': svc['address'], 'vip_holders': holders, 'hosts': candidates, 'servers': [], 'leaving': []}
    stats = {}
    if svc['owner'] == 'haproxy' and svc['state'] == 'present':
        for host in candidates:
            seen = observed.get(host)
            if seen is None or seen.get('haproxy') is None:
                continue
            stats[host] = haproxy_stats(seen['haproxy'])
            if not stats[host]:
                findings.add('unreachable', '%s: haproxy did not answer on its stats socket (is it running?)' % host,
                             host=host, service=svc['name'])
                del stats[host]
    for pool in [svc] + list(svc.get('routes', [])):
        wanted = {}
        for member in pool['members']:
            if member['state'] == 'absent':
                continue
            row = {'host': member['host'], 'address': member['address'], 'port': member['port'], 'pool': pool['name'],
                   'weight': 0 if member['state'] == 'drained' else member['weight'], 'state': member['state'],
                   'kernel': {}}
            wanted[member['host']] = row
            view['servers'].append(row)
        for host in sorted(stats):
            live = stats[host].get(pool['name'], {})
            _haproxy_findings(svc['name'], pool['name'], host, live, wanted, view, findings)
    return view


def _haproxy_findings(name, pool, host, live, wanted, view, findings):
    """One pool on one proxy host: each server as haproxy runs it, and what differs from the estate."""
    for server, row in wanted.items():
        state = live.get(server)
        where = '%s: %s in pool %s of %s' % (host, server, pool, name)
        row['kernel'][host] = state
        if state is None:
            findings.add('drift', '%s: not in haproxy\'s pool' % where, host=host, service=name, server=server)
        elif state['status'].startswith('DOWN'):
            findings.add('health', '%s: down by haproxy\'s health check' % where, host=host, service=name, server=server)
        elif state['status'].startswith('MAINT'):
            findings.add('drift', '%s: in maintenance, set by hand' % where, host=host, service=name, server=server)
        elif state['status'] == 'DRAIN' and row['weight']:
            findings.add('drift', '%s: drained by hand (the estate gives it weight %s)' % (where, row['weight']),
                         host=host, service=name, server=server)
    for server in sorted(set(live) - set(wanted)):
        findings.add('drift', '%s: %s is in pool %s of %s and the estate does not list it' % (host, server, pool, name),
                     host=host, service=name, server=server)


def _ipvs_view(svc, directors, tables, addresses, findings):
    """One IPVS service as the estate declares it and as each director's kernel has it."""
    name = svc['name']
    keepalived = svc['owner'] == 'keepalived'
    service, servers = _ipvs_rules.ipvs_entries(svc)
    key = _ipvs_values.service_key(service)
    vip = svc.get('address')
    holders = _holders(vip, addresses, directors) if vip else []
    if vip:
        _vip_findings(svc, holders, any(host in addresses for host in directors), findings)
    settings = {setting: service.get(setting) for setting in SERVICE_SETTINGS}
    expected = {_server_key(svc, server['address'], server['port']): server for server in servers}
    members = {_server_key(svc, m['address'], m['port']): m for m in svc['members']}
    view = {'name': name, 'mode': svc['mode'], 'owner': svc['owner'], 'state': svc['state'],
            'service': _ident_text(svc), 'vip': vip, 'vip_holders': holders, 'settings': settings,
            'kernel': {}, 'servers': [], 'leaving': []}
    rows = {}
    for member in svc['members']:
        if member['state'] == 'absent':
            continue  # listed under leaving while a kernel still has it
        row = {'host': member['host'], 'address': member['address'], 'port': member['port'],
               'weight': 0 if member['state'] == 'drained' else member['weight'], 'state': member['state'],
               'kernel': {}}
        rows[_server_key(svc, member['address'], member['port'])] = row
        view['servers'].append(row)
    for host in directors:
        if host not in tables:
            continue
        kernel = tables[host].get(key)
        if svc['state'] == 'absent':
            if kernel is not None:
                findings.add('drift', '%s: %s is declared absent and still in the kernel' % (host, name), host=host, service=name)
            continue
        if kernel is None:
            findings.add('drift', '%s: %s (%s) is missing from the kernel' % (host, name, view['service']), host=host, service=name)
            continue
        view['kernel'][host] = {'settings': {setting: kernel.get(setting) for setting in SERVICE_SETTINGS},
                                'rates': _rates(kernel)}
        differ = [setting for setting in SERVICE_SETTINGS if kernel.get(setting) != settings[setting]]
        if differ:
            findings.add('drift', '%s: %s has %s in the kernel, the estate says %s' % (
                host, name, _pairs(differ, kernel), _pairs(differ, settings)), host=host, service=name)
        _server_findings(svc, host, kernel, expected, members, rows, view, keepalived, findings)
    return view, key


def _server_findings(svc, host, kernel, expected, members, rows, view, keepalived, findings):
    name = svc['name']
    inhibit = bool((svc.get('keepalived') or {}).get('inhibit_on_failure'))
    sorry = (svc.get('keepalived') or {}).get('sorry_server')
    in_kernel = {}
    for server in kernel.get('servers', []):
        in_kernel[_server_key(svc, server['address'], server['port'])] = server
    for skey, wanted in expected.items():
        row = rows[skey]
        found = in_kernel.get(skey)
        where = '%s: %s on %s' % (host, row['host'], name)
        if found is None:
            row['kernel'][host] = None
            if keepalived:
                findings.add('health', '%s: taken out by keepalived\'s health check' % where,
                             host=host, service=name, server=row['host'])
            else:
                findings.add('drift', '%s: missing from the kernel' % where, host=host, service=name, server=row['host'])
            continue
        row['kernel'][host] = _server_view(found)
        differ = [setting for setting in SERVER_SETTINGS if found.get(setting) != wanted.get(setting)]
        if keepalived and inhibit and differ == ['weight'] and found.get('weight') == 0:
            findings.add('health', '%s: weight 0, set by keepalived\'s health check (inhibit_on_failure)' % where,
                         host=host, service=name, server=row['host'])
        elif differ:
            findings.add('drift', '%s: %s in the kernel, the estate says %s' % (
                where, _pairs(differ, found), _pairs(differ, wanted)), host=host, service=name, server=row['host'])
    for skey, server in in_kernel.items():
        if skey in expected:
            continue
        endpoint = _ipvs_values.format_endpoint(svc['family'], server['address'], server['port'])
        member = members.get(skey)
        leaving = {'host': member['host'] if member else None, 'address': server['address'], 'port': server['port'],
                   'director': host, 'kernel': _server_view(server)}
        view['leaving'].append(leaving)
        if keepalived and sorry and server['address'] == sorry['address']:
            findings.add('health', '%s: %s holds keepalived\'s sorry server %s (every real server is down)' % (host, name, endpoint),
                         host=host, service=name, server=endpoint)
        elif server.get('weight') == 0:
            findings.add('drain', '%s: %s on %s leaves, drained at weight 0 (%d active, %d inactive connections)' % (
                host, (member or {}).get('host', endpoint), name, server.get('active_connections', 0),
                server.get('inactive_connections', 0)), host=host, service=name, server=endpoint)
        else:
            findings.add('drift', '%s: %s on %s is in the kernel (weight %s) and the estate does not list it' % (
                host, (member or {}).get('host', endpoint), name, server.get('weight')), host=host, service=name, server=endpoint)


def _pairs(names, values):
    return ', '.join('%s %s' % (name, show_value(values.get(name))) for name in names)


# --------------------------------------------------------------------------- the terminal's view

def status_text(status):
    """The status as lines for a terminal: hosts, each service with its real servers per director, the kernel
    services nobody declared, and the findings."""
    directors = status['directors']
    drift = status['drift']
    lines = ['ESTATE: %d host(s) read, %d service(s); %d finding(s) to act on, %d other(s)' % (
        len(status['hosts']), len(status['services']), drift, len(status['findings']) - drift), '', 'HOSTS']
    for entry in status['hosts']:
        if not entry['reachable']:
            lines.append('  %-16s unreachable' % entry['host'])
            continue
        role = 'director' if entry['director'] else 'proxy'
        lines.append('  %-16s %-9s keepalived %s' % (entry['host'], role, entry['keepalived']))
    lines.extend(['', 'SERVICES (each real server: weight / active / inactive connections, new connections per second;',
                  '  through haproxy: its status, weight / current sessions, new sessions per second)'])
    for view in status['services']:
        holders = ', '.join(view['vip_holders']) or 'nobody'
        lines.append('  %s  %s  %s, owner %s%s  VIP on %s' % (
            view['name'], view['service'], view['mode'], view['owner'],
            '' if view['state'] == 'present' else ' (%s)' % view['state'], holders))
        if view['mode'] != 'proxy':
            columns = directors
        else:  # nginx (open source) shows no pool state: no columns
            columns = view['hosts'] if view['owner'] == 'haproxy' else []
        rows = [['    real server', 'estate'] + list(columns)]
        for server in view['servers']:
            pool = ' (%s)' % server['pool'] if server.get('pool', view['name']) != view['name'] else ''
            cells = ['    %s %s%s' % (server['host'], _endpoint(server), pool),
                     '%s%s' % (server['weight'], '' if server['state'] == 'present' else ' ' + server['state'])]
            for host in columns:
                cells.append(_cell(server['kernel'], host))
            rows.append(cells)
        for server in view.get('leaving', []):
            cells = ['    %s %s' % (server['host'] or '(not in the estate)', _endpoint(server)), 'leaving']
            for host in columns:
                cells.append(_cell({server['director']: server['kernel']}, host) if host == server['director'] else '')
            rows.append(cells)
        lines.extend(_table(rows))
    if status['undeclared']:
        lines.extend(['', 'IN A KERNEL, DECLARED BY NO SERVICE'])
        for entry in status['undeclared']:
            servers = ', '.join(entry['servers']) or 'none'
            lines.append('  %-16s %s  %s, real servers: %s' % (entry['host'], entry['service'], entry['scheduler'], servers))
    lines.extend(['', 'FINDINGS' if status['findings'] else 'FINDINGS: none, every kernel is as the estate says'])
    for finding in status['findings']:
        lines.append('  %-11s %s' % (finding['kind'], finding['message']))
    return lines


def _endpoint(server):
    address = server['address']
    return '[%s]:%s' % (address, server['port']) if ':' in address else '%s:%s' % (address, server['port'])


def _cell(kernel, host):
    if host not in kernel:
        return '?'
    seen = kernel[host]
    if seen is None:
        return 'out'
    if 'status' in seen:  # haproxy's view: status, weight, current sessions, new sessions per second
        return '%s %s / %s  %s/s' % (seen['status'], seen['weight'], seen['sessions'], seen['rate'])
    return '%s / %s / %s  %s/s' % (seen['weight'], seen['active_connections'], seen['inactive_connections'],
                                   seen['rates']['connections'])


def _table(rows):
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ['  '.join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
