# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate's one data model: virtual services described once, read by every role.

``lvs_virtual_services`` (a list in the inventory) names each service's VIP, port, mode and the
inventory group holding its real servers; per-host variables of the real servers give their
address, weight and port. This file turns that into what the roles need (the IPVS table of a
director, the VIPs of a real server, keepalived's virtual_server blocks) and refuses bad estates with
a message that names the variable and the reason, before any host is touched.

Pure Python (no Ansible controller imports), so unit tests and filter plugins share it.
Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

MODES = ('nat', 'dr', 'tun', 'snat')
# How each estate mode forwards in IPVS: snat is IPVS NAT plus source NAT on the director.
FORWARDING_OF_MODE = {'nat': 'nat', 'dr': 'dr', 'tun': 'tun', 'snat': 'nat'}
SCHEDULERS = ('rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh', 'fo', 'ovf', 'twos')
PROTOCOLS = ('tcp', 'udp', 'sctp')
OWNERS = ('director', 'keepalived')
TUNNEL_TYPES = ('ipip', 'gue', 'gre')
NAME_RE = re.compile(r'^[a-z0-9][a-z0-9_-]{0,31}$')
WEIGHT_MAX = 2147483647

SERVICE_KEYS = (
    'name', 'address', 'port', 'protocol', 'fwmark', 'family', 'mode', 'scheduler',
    'persistence_timeout', 'persistence_netmask', 'persistence_engine', 'one_packet',
    'sh_fallback', 'sh_port', 'mh_fallback', 'mh_port', 'realservers', 'realserver_port', 'weight',
    'upper_threshold', 'lower_threshold', 'tunnel_type', 'tunnel_port', 'state', 'owner', 'nat_gateway',
    'drain_timeout', 'health_check', 'keepalived', 'haproxy', 'nginx',
)
SERVICE_DEFAULTS = {
    'protocol': 'tcp', 'mode': 'dr', 'scheduler': 'wlc', 'weight': 1, 'state': 'present',
    'owner': 'director', 'one_packet': False, 'sh_fallback': False, 'sh_port': False,
    'mh_fallback': False, 'mh_port': False, 'drain_timeout': 0,
}
# Per-service settings a real server may override for itself, in lvs_overrides.SERVICE.
MEMBER_OVERRIDES = ('weight', 'port', 'upper_threshold', 'lower_threshold', 'state')
MEMBER_STATES = ('present', 'drained', 'absent')


class EstateError(ValueError):
    """A bad estate: the message names the variable and the reason."""


def _where(service, index):
    name = service.get('name') if isinstance(service, dict) else None
    return 'lvs_virtual_services[%s]' % (name if name else index)


def _int(value, where, key, low, high):
    if isinstance(value, bool):
        raise EstateError('%s.%s must be an integer, not %r' % (where, key, value))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise EstateError('%s.%s must be an integer, not %r' % (where, key, value))
    if not low <= number <= high:
        raise EstateError('%s.%s is %d; it must be between %d and %d' % (where, key, number, low, high))
    return number


def _address(value, where, key):
    try:
        return ipaddress.ip_address(str(value).strip('[]'))
    except ValueError:
        raise EstateError('%s.%s: %r is not an IP address' % (where, key, value))


def normalize_service(service, index=0):
    """One service entry, checked on its own and completed with defaults."""
    where = _where(service, index)
    if not isinstance(service, dict):
        raise EstateError('%s must be a mapping, not %s' % (where, type(service).__name__))
    unknown = sorted(set(service) - set(SERVICE_KEYS))
    if unknown:
        raise EstateError('%s has unknown key(s) %s; known keys: %s' % (where, ', '.join(unknown), ', '.join(SERVICE_KEYS)))
    svc = dict(SERVICE_DEFAULTS)
    svc.update({key: value for key, value in service.items() if value is not None})
    if not isinstance(svc.get('name'), str) or not NAME_RE.match(svc['name']):
        raise EstateError('%s.name is required: lower-case letters, digits, "-" and "_", at most 32 characters '
                          '(it names the service in keepalived, haproxy and nginx too)' % where)
    for key, choices in (('mode', MODES), ('scheduler', SCHEDULERS), ('protocol', PROTOCOLS), ('owner', OWNERS),
                         ('state', ('present', 'absent'))):
        if svc[key] not in choices:
            raise EstateError('%s.%s is %r; it must be one of %s' % (where, key, svc[key], ', '.join(choices)))
    if 'fwmark' in svc:
        if 'address' in svc or 'port' in svc:
            raise EstateError('%s: a firewall-mark service has fwmark and no address or port' % where)
        svc['fwmark'] = _int(svc['fwmark'], where, 'fwmark', 1, 4294967295)
        svc['family'] = svc.get('family', 'ipv4')
        if svc['family'] not in ('ipv4', 'ipv6'):
            raise EstateError('%s.family is %r; it must be ipv4 or ipv6' % (where, svc['family']))
        if svc['mode'] in ('nat', 'snat') and 'realserver_port' not in svc:
            raise EstateError('%s: a NAT firewall-mark service needs realserver_port (the port on the real servers)' % where)
        svc.pop('protocol', None)
    else:
        if 'address' not in svc or 'port' not in svc:
            raise EstateError('%s needs address and port (or fwmark for a firewall-mark service)' % where)
        vip = _address(svc['address'], where, 'address')
        svc['address'] = str(vip)
        svc['family'] = 'ipv6' if vip.version == 6 else 'ipv4'
        svc['port'] = _int(svc['port'], where, 'port', 0, 65535)
        if svc['port'] == 0 and 'persistence_timeout' not in svc:
            raise EstateError('%s.port 0 (all ports) is only valid for a persistent service: set persistence_timeout' % where)
    if 'realservers' not in svc or not isinstance(svc['realservers'], str):
        raise EstateError('%s.realservers must name the inventory group that holds its real servers' % where)
    if 'realserver_port' in svc:
        svc['realserver_port'] = _int(svc['realserver_port'], where, 'realserver_port', 1, 65535)
        if svc['mode'] in ('dr', 'tun') and svc['realserver_port'] != svc.get('port'):
            raise EstateError('%s.realserver_port is %d but the service listens on %s: %s mode cannot map ports '
                              '(the real servers answer on the VIP\'s own port); use mode nat to map ports'
                              % (where, svc['realserver_port'], svc.get('port'), svc['mode']))
    svc['weight'] = _int(svc['weight'], where, 'weight', 0, WEIGHT_MAX)
    for key in ('upper_threshold', 'lower_threshold'):
        if key in svc:
            svc[key] = _int(svc[key], where, key, 0, 2147483647)
    if 'persistence_timeout' in svc:
        svc['persistence_timeout'] = _int(svc['persistence_timeout'], where, 'persistence_timeout', 1, 2147483647)
    svc['drain_timeout'] = _int(svc['drain_timeout'], where, 'drain_timeout', 0, 86400)
    if 'tunnel_type' in svc:
        if svc['mode'] != 'tun':
            raise EstateError('%s.tunnel_type is only for mode tun' % where)
        if svc['tunnel_type'] not in TUNNEL_TYPES:
            raise EstateError('%s.tunnel_type is %r; it must be one of %s' % (where, svc['tunnel_type'], ', '.join(TUNNEL_TYPES)))
    if svc['mode'] in ('nat',) and 'nat_gateway' in svc:
        _address(svc['nat_gateway'], where, 'nat_gateway')
    if svc['mode'] == 'snat' and svc['family'] != 'ipv4':
        raise EstateError('%s: mode snat is implemented for IPv4 services only' % where)
    return svc


def normalize_services(services):
    """Every service checked, names unique, no two services on the same VIP, port and protocol."""
    if services is None:
        return []
    if not isinstance(services, list):
        raise EstateError('lvs_virtual_services must be a list of services, not %s' % type(services).__name__)
    result, names, keys = [], {}, {}
    for index, service in enumerate(services):
        svc = normalize_service(service, index)
        if svc['name'] in names:
            raise EstateError('lvs_virtual_services: the name %r is used twice (entries %d and %d)'
                              % (svc['name'], names[svc['name']], index))
        names[svc['name']] = index
        key = service_key(svc)
        if key in keys:
            raise EstateError('lvs_virtual_services[%s] and [%s] are the same virtual service (%s)'
                              % (keys[key], svc['name'], describe_key(key)))
        keys[key] = svc['name']
        result.append(svc)
    return result


def service_key(svc):
    if 'fwmark' in svc:
        return ('fwmark', svc['family'], svc['fwmark'])
    return (svc['protocol'], svc['address'], svc['port'])


def describe_key(key):
    if key[0] == 'fwmark':
        return 'fwmark %s (%s)' % (key[2], key[1])
    address = '[%s]' % key[1] if ':' in key[1] else key[1]
    return '%s %s:%s' % (key[0].upper(), address, key[2])


def member_address(host, hostvars):
    """The address a director forwards to: lvs_address, else ansible_host, else the inventory name."""
    address = hostvars.get('lvs_address') or hostvars.get('ansible_host') or host
    try:
        return str(ipaddress.ip_address(str(address)))
    except ValueError:
        raise EstateError('host %s: lvs_address (or ansible_host) %r is not an IP address; set lvs_address to the '
                          'address the director reaches it on' % (host, address))


def members(svc, hostvars, groups):
    """The real servers of one service, from its inventory group and their host variables."""
    where = 'lvs_virtual_services[%s]' % svc['name']
    group = svc['realservers']
    if group not in groups:
        raise EstateError('%s.realservers names the inventory group %r, which does not exist' % (where, group))
    result = []
    seen = {}
    for host in groups[group]:
        hvars = hostvars.get(host, {}) or {}
        overrides = (hvars.get('lvs_overrides') or {}).get(svc['name']) or {}
        unknown = sorted(set(overrides) - set(MEMBER_OVERRIDES))
        if unknown:
            raise EstateError('host %s: lvs_overrides.%s has unknown key(s) %s; known: %s'
                              % (host, svc['name'], ', '.join(unknown), ', '.join(MEMBER_OVERRIDES)))
        address = member_address(host, hvars)
        if ('fwmark' not in svc) and (':' in address) != (svc['family'] == 'ipv6'):
            raise EstateError('host %s: its address %s is not of the family of %s (%s)'
                              % (host, address, where, svc['family']))
        if svc.get('address') == address:
            raise EstateError('%s: the VIP %s is also the address of real server %s; a VIP must be an address of '
                              'its own' % (where, address, host))
        default_port = svc.get('realserver_port', svc.get('port'))
        port = overrides.get('port', hvars.get('lvs_port', default_port))
        port = _int(port, 'host %s: lvs_port' % host, 'for ' + svc['name'], 0, 65535) if port is not None else None
        if svc['mode'] in ('dr', 'tun') and port != svc.get('port') and 'fwmark' not in svc:
            raise EstateError('host %s: port %s for %s differs from the service port %s; %s mode cannot map ports'
                              % (host, port, where, svc.get('port'), svc['mode']))
        weight = overrides.get('weight', hvars.get('lvs_weight', svc['weight']))
        member = {
            'host': host,
            'address': address,
            'port': port if port is not None else 0,
            'forwarding': FORWARDING_OF_MODE[svc['mode']],
            'weight': _int(weight, 'host %s: lvs_weight' % host, 'for ' + svc['name'], 0, WEIGHT_MAX),
            'state': overrides.get('state', 'present'),
        }
        if member['state'] not in MEMBER_STATES:
            raise EstateError('host %s: lvs_overrides.%s.state is %r; it must be one of %s'
                              % (host, svc['name'], member['state'], ', '.join(MEMBER_STATES)))
        for key in ('upper_threshold', 'lower_threshold'):
            value = overrides.get(key, svc.get(key))
            if value is not None:
                member[key] = _int(value, 'host %s' % host, key, 0, 2147483647)
        if svc['mode'] == 'tun' and svc.get('tunnel_type'):
            member['tunnel_type'] = svc['tunnel_type']
            if svc.get('tunnel_port') is not None:
                member['tunnel_port'] = svc['tunnel_port']
        if svc['mode'] == 'nat':
            gateway = hvars.get('lvs_nat_gateway', svc.get('nat_gateway'))
            if not gateway:
                raise EstateError('host %s is a real server of NAT service %s but has no route back through the '
                                  'director: set nat_gateway on the service (the director\'s inside address) or '
                                  'lvs_nat_gateway on the host' % (host, svc['name']))
            member['nat_gateway'] = str(_address(gateway, 'host %s' % host, 'lvs_nat_gateway'))
            if member['nat_gateway'] == address:
                raise EstateError('host %s: its NAT gateway %s is its own address' % (host, address))
        key = (address, member['port'])
        if key in seen:
            raise EstateError('%s: hosts %s and %s are the same real server %s:%s'
                              % (where, seen[key], host, address, member['port']))
        seen[key] = host
        result.append(member)
    return result


def virtual_services(services, hostvars, groups):
    """The whole estate, checked and expanded: each service with its real servers (``members``)."""
    expanded = []
    for svc in normalize_services(services):
        svc = dict(svc)
        svc['members'] = members(svc, hostvars, groups)
        expanded.append(svc)
    return expanded


def ipvs_service_args(svc):
    """The lvs.cluster.ipvs_service arguments that converge one expanded service (and its servers)."""
    args = {'state': 'present'}
    for key in ('address', 'port', 'protocol', 'fwmark', 'scheduler', 'persistence_timeout',
                'persistence_netmask', 'persistence_engine', 'one_packet', 'sh_fallback', 'sh_port',
                'mh_fallback', 'mh_port'):
        if key in svc:
            args[key] = svc[key]
    if 'fwmark' in svc:
        args['family'] = svc['family']
    servers = []
    for member in svc['members']:
        if member['state'] == 'absent':
            continue
        server = {'address': member['address'], 'port': member['port'], 'forwarding': member['forwarding'],
                  'weight': 0 if member['state'] == 'drained' else member['weight']}
        for key in ('upper_threshold', 'lower_threshold', 'tunnel_type', 'tunnel_port'):
            if key in member:
                server[key] = member[key]
        servers.append(server)
    args['servers'] = servers
    args['purge_servers'] = True
    return args


def served_by(expanded, host):
    """The services a host is a real server of, each with that host's own member entry."""
    result = []
    for svc in expanded:
        for member in svc['members']:
            if member['host'] == host:
                entry = {key: value for key, value in svc.items() if key != 'members'}
                entry['member'] = member
                result.append(entry)
    return result


TUNNEL_MODULES = {'ipip': None, 'gue': 'fou', 'gre': 'ip_gre'}


def realserver_plan(expanded, host):
    """What one real server needs for the services it serves: VIPs per device, ARP, TUN, NAT route."""
    plan = {'lo': [], 'tunl0': [], 'ip6tnl0': [], 'kernel_modules': [], 'arp': False, 'tun': False,
            'nat_gateway': None, 'services': []}
    gateways = {}
    for svc in served_by(expanded, host):
        if svc['state'] != 'present' or svc['member']['state'] == 'absent':
            continue
        plan['services'].append(svc['name'])
        mode = svc['mode']
        if mode in ('dr', 'tun'):
            plan['arp'] = True
        if mode == 'dr' and 'address' in svc:
            device = 'lo'
        elif mode == 'tun':
            plan['tun'] = True
            device = 'ip6tnl0' if svc['family'] == 'ipv6' else 'tunl0'
            for module in ('ip6_tunnel' if device == 'ip6tnl0' else 'ipip', TUNNEL_MODULES.get(svc.get('tunnel_type', 'ipip'))):
                if module and module not in plan['kernel_modules']:
                    plan['kernel_modules'].append(module)
        else:
            device = None
        if device and 'address' in svc and svc['address'] not in plan[device]:
            plan[device].append(svc['address'])
        if mode == 'nat':
            gateways.setdefault(svc['member']['nat_gateway'], []).append(svc['name'])
    if len(gateways) > 1:
        raise EstateError('host %s serves NAT services with different gateways (%s); a host has one default route, '
                          'so they must all name the same director address'
                          % (host, '; '.join('%s for %s' % (gw, ', '.join(names)) for gw, names in sorted(gateways.items()))))
    if gateways:
        plan['nat_gateway'] = list(gateways)[0]
    return plan


IPVSADM_PROTOCOL = {'tcp': '-t', 'udp': '-u', 'sctp': '--sctp-service'}
IPVSADM_FORWARDING = {'dr': '-g', 'nat': '-m', 'tun': '-i'}


def _endpoint(address, port):
    return '[%s]:%s' % (address, port) if ':' in address else '%s:%s' % (address, port)


def ipvsadm_rules(expanded):
    """The services as ipvsadm-restore lines: the saved table a director restores at boot."""
    lines = []
    for svc in expanded:
        if svc['state'] != 'present':
            continue
        args = ipvs_service_args(svc)
        if 'fwmark' in args:
            ident = '-f %d' % args['fwmark'] + (' -6' if args['family'] == 'ipv6' else '')
        else:
            ident = '%s %s' % (IPVSADM_PROTOCOL[args['protocol']], _endpoint(args['address'], args['port']))
        line = '-A %s -s %s' % (ident, args['scheduler'])
        if args.get('persistence_timeout'):
            line += ' -p %d' % args['persistence_timeout']
            if args.get('persistence_netmask') is not None:
                line += ' -M %s' % args['persistence_netmask']
        if args.get('persistence_engine'):
            line += ' --pe %s' % args['persistence_engine']
        if args.get('one_packet'):
            line += ' -o'
        flags = [name.replace('_', '-') for name in ('sh_fallback', 'sh_port', 'mh_fallback', 'mh_port') if args.get(name)]
        if flags:
            line += ' -b %s' % ','.join(flags)
        lines.append(line)
        for server in args['servers']:
            endpoint = _endpoint(server['address'], server['port'])
            line = '-a %s -r %s %s -w %d' % (ident, endpoint, IPVSADM_FORWARDING[server['forwarding']], server['weight'])
            if server.get('upper_threshold'):
                line += ' -x %d' % server['upper_threshold']
            if server.get('lower_threshold'):
                line += ' -y %d' % server['lower_threshold']
            if server.get('tunnel_type') and server['tunnel_type'] != 'ipip':
                line += ' --tun-type %s' % server['tunnel_type']
                if server.get('tunnel_port'):
                    line += ' --tun-port %d' % server['tunnel_port']
            lines.append(line)
    return lines


def service_ident(svc):
    """How a service is named to lvs.cluster.ipvs_service and ipvs_server, and in the director's record."""
    if 'fwmark' in svc:
        return {'fwmark': svc['fwmark'], 'family': svc['family']}
    return {'address': svc['address'], 'port': svc['port'], 'protocol': svc['protocol']}


def director_plan(expanded, ipvs_sysctls=None):
    """What a director needs for the services it owns: modules, sysctls, VIPs, the saved table."""
    owned = [svc for svc in expanded if svc['owner'] == 'director']
    present = [svc for svc in owned if svc['state'] == 'present']
    modules = ['ip_vs']
    sysctls = {}
    for svc in present:
        for module in ['ip_vs_' + svc['scheduler']] + (['ip_vs_pe_' + svc['persistence_engine']] if svc.get('persistence_engine') else []):
            if module not in modules:
                modules.append(module)
        if svc['mode'] == 'tun':
            tunnel = ['ip6_tunnel' if svc['family'] == 'ipv6' else 'ipip', TUNNEL_MODULES.get(svc.get('tunnel_type', 'ipip'))]
            modules.extend(m for m in tunnel if m and m not in modules)
        if svc['mode'] in ('nat', 'snat'):
            sysctls['net.ipv6.conf.all.forwarding' if svc['family'] == 'ipv6' else 'net.ipv4.ip_forward'] = 1
        if svc['mode'] == 'snat':
            sysctls['net.ipv4.vs.conntrack'] = 1
            modules.extend(m for m in ('nf_conntrack', 'xt_ipvs', 'iptable_nat') if m not in modules)
    for name, value in sorted((ipvs_sysctls or {}).items()):
        key = name if name.startswith('net.') else 'net.ipv4.vs.' + name
        sysctls[key] = value
    records = []
    for svc in owned:
        record = service_ident(svc)
        record.update({'name': svc['name'], 'drain_timeout': svc['drain_timeout'], 'state': svc['state']})
        records.append(record)
    snat = []
    for svc in present:
        if svc['mode'] == 'snat':
            snat.append({'name': svc['name'], 'address': svc['address'], 'port': svc['port'], 'protocol': svc['protocol']})
    return {
        'services': [svc['name'] for svc in present],
        'absent': [svc['name'] for svc in owned if svc['state'] == 'absent'],
        'kernel_modules': modules,
        'sysctls': sysctls,
        'vips': sorted({svc['address'] for svc in present if 'address' in svc}),
        'records': records,
        'rules': ipvsadm_rules(present),
        'snat': snat,
    }


def removed_services(previous_records, plan):
    """Services a director programmed before that the estate no longer declares (or declares absent)."""
    current = {_record_key(r) for r in plan['records'] if r['state'] == 'present'}
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


def leaving_servers(svc, kernel_services):
    """Real servers the kernel has in this service that the estate no longer lists (to drain first)."""
    wanted = {(m['address'], m['port']) for m in svc['members'] if m['state'] != 'absent'}
    return [server for server in kernel_servers(service_ident(svc), kernel_services)
            if (server['address'], server['port']) not in wanted]
