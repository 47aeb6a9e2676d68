# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate expanded against the inventory: each service with its real servers (``members``).

``lvs_virtual_services`` names each service's inventory group of real servers; the host variables of
those hosts (read by _hostvars) give their address, port, weight and overrides. The expanded estate is
what every role's plan takes (_director_plan, _realserver_plan, _keepalived_*, _nginx_plan). Every
service the modules program is also put through the modules' own validator here, so that the first
play refuses what a role would refuse later.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.lvs.cluster.plugins.plugin_utils import _ipvs_rules, _proxy_service, _services, _values
from ansible_collections.lvs.cluster.plugins.plugin_utils._values import PlanError

# Per-service settings a real server may override for itself, in lvs_overrides.SERVICE.
MEMBER_OVERRIDES = ('weight', 'port', 'upper_threshold', 'lower_threshold', 'state', 'backup', 'maxconn')
# Overrides only a proxy has: a backup server (used when every other one is down) and a connection cap.
PROXY_MEMBER_OVERRIDES = ('backup', 'maxconn')
MEMBER_STATES = ('present', 'drained', 'absent')


def member_address(host, hostvars, family=None):
    """The address a director forwards to: lvs_address, else ansible_host, else the inventory name; for an IPv6
    service (family ipv6) on a host whose address is IPv4, lvs_address_ipv6 (a dual-stack real server)."""
    address = hostvars.get('lvs_address') or hostvars.get('ansible_host') or host
    _values.refuse_brackets(address, 'host %s: lvs_address (or ansible_host)' % host)
    try:
        address = str(ipaddress.ip_address(str(address)))
    except ValueError:
        raise PlanError('host %s: lvs_address (or ansible_host) %r is not an IP address; set lvs_address to the '
                        'address the director reaches it on' % (host, address))
    if family != 'ipv6' or ':' in address or hostvars.get('lvs_address_ipv6') is None:
        return address
    try:
        address = ipaddress.ip_address(str(hostvars['lvs_address_ipv6']))
    except ValueError:
        address = None
    if address is None or address.version != 6:
        raise PlanError('host %s: lvs_address_ipv6 %r is not an IPv6 address' % (host, hostvars['lvs_address_ipv6']))
    return str(address)


def members(svc, hostvars, groups, addresses=None):
    """The real servers of one service, from its inventory group and their host variables.

    addresses caches member_address by host across the services of one expansion (a host in many services
    is parsed once)."""
    addresses = {} if addresses is None else addresses
    where = 'lvs_virtual_services[%s]' % svc['name']
    group = svc['realservers']
    if group not in groups:
        raise PlanError('%s.realservers names the inventory group %r, which does not exist' % (where, group))
    result = []
    seen = {}
    for host in groups[group]:
        hvars = hostvars.get(host, {}) or {}
        here = 'host %s: lvs_overrides.%s' % (host, svc['name'])
        overrides = (hvars.get('lvs_overrides') or {}).get(svc['name']) or {}
        unknown = sorted(set(overrides) - set(MEMBER_OVERRIDES))
        if unknown:
            raise PlanError('%s has unknown key(s) %s; known: %s' % (here, ', '.join(unknown), ', '.join(MEMBER_OVERRIDES)))
        if (host, svc['family']) not in addresses:
            addresses[(host, svc['family'])] = member_address(host, hvars, svc['family'])
        address = addresses[(host, svc['family'])]
        if ('fwmark' not in svc) and (':' in address) != (svc['family'] == 'ipv6'):
            raise PlanError('host %s: its address %s is not of the family of %s (%s)%s'
                            % (host, address, where, svc['family'],
                               '; set lvs_address_ipv6 to its IPv6 address' if svc['family'] == 'ipv6' else ''))
        if svc.get('address') == address and svc['mode'] != 'proxy':
            raise PlanError('%s: the VIP %s is also the address of real server %s; a VIP must be an address of '
                            'its own' % (where, address, host))
        default_port = svc.get('realserver_port', svc.get('port'))
        port = overrides.get('port', hvars.get('lvs_port', default_port))
        port = _values.integer(port, 'host %s: lvs_port for %s' % (host, svc['name']), 0, 65535) if port is not None else None
        if svc['mode'] in ('dr', 'tun') and port != svc.get('port') and 'fwmark' not in svc:
            raise PlanError('host %s: port %s for %s differs from the service port %s; %s mode cannot map ports'
                            % (host, port, where, svc.get('port'), svc['mode']))
        weight = overrides.get('weight', hvars.get('lvs_weight', svc['weight']))
        member = {
            'host': host,
            'address': address,
            'port': port if port is not None else 0,
            'forwarding': _services.FORWARDING_OF_MODE[svc['mode']],
            'weight': _values.integer(weight, 'host %s: lvs_weight for %s' % (host, svc['name']), 0, _services.WEIGHT_MAX),
            'state': _values.choice(overrides.get('state', 'present'), here + '.state', MEMBER_STATES),
        }
        for key in ('upper_threshold', 'lower_threshold'):
            value = overrides.get(key, svc.get(key))
            if value is not None:
                member[key] = _values.integer(value, '%s.%s' % (here, key), 0, 2147483647)
        if svc['mode'] == 'proxy':
            if svc['owner'] == 'haproxy' and member['weight'] > 256:
                raise PlanError('host %s: weight %d for %s; haproxy weights go up to 256' % (host, member['weight'], where))
            member['backup'] = _values.boolean(overrides.get('backup', False), here + '.backup')
            if 'maxconn' in overrides:
                member['maxconn'] = _values.integer(overrides['maxconn'], here + '.maxconn', 1, 2147483647)
        else:
            for key in PROXY_MEMBER_OVERRIDES:
                if key in overrides:
                    raise PlanError('%s.%s is for proxy services only' % (here, key))
        if svc['mode'] == 'tun' and svc.get('tunnel_type'):
            member['tunnel_type'] = svc['tunnel_type']
            if svc.get('tunnel_port') is not None:
                member['tunnel_port'] = svc['tunnel_port']
        if svc['mode'] == 'nat':
            gateway = hvars.get('lvs_nat_gateway', svc.get('nat_gateway'))
            if not gateway:
                raise PlanError('host %s is a real server of NAT service %s but has no route back through the '
                                'director: set nat_gateway on the service (the director\'s inside address) or '
                                'lvs_nat_gateway on the host' % (host, svc['name']))
            member['nat_gateway'] = str(_values.address(gateway, 'host %s: lvs_nat_gateway' % host))
            if member['nat_gateway'] == address:
                raise PlanError('host %s: its NAT gateway %s is its own address' % (host, address))
        key = (address, member['port'])
        if key in seen:
            raise PlanError('%s: hosts %s and %s are the same real server %s:%s'
                            % (where, seen[key], host, address, member['port']))
        seen[key] = host
        result.append(member)
    return result


def virtual_services(services, hostvars, groups):
    """The whole estate, checked and expanded: each service with its real servers (``members``)."""
    expanded = []
    addresses = {}
    for svc in _services.normalize_services(services):
        svc = dict(svc)
        svc['members'] = members(svc, hostvars, groups, addresses)
        svc['member_index'] = member_index(svc['members'])
        if svc['mode'] == 'proxy':
            if svc['proxies'] not in groups:
                raise PlanError('lvs_virtual_services[%s].proxies names the inventory group %r, which does not exist'
                                % (svc['name'], svc['proxies']))
            svc['proxy_hosts'] = list(groups[svc['proxies']])
            svc['routes'] = [dict(route, members=members(dict(svc, realservers=route['realservers']), hostvars, groups,
                                                         addresses))
                             for route in svc['routes']]
        else:
            # What the modules (or keepalived) would be given, through the modules' own validator.
            _ipvs_rules.ipvs_entries(svc)
        expanded.append(svc)
    return expanded


def is_expanded(services):
    """True for an estate virtual_services already expanded (every service has its members); a service as
    written in lvs_virtual_services never has members (normalize_service refuses the key)."""
    if not isinstance(services, list) or not services:
        return False
    marked = [isinstance(svc, dict) and 'members' in svc for svc in services]
    if any(marked) and not all(marked):
        raise PlanError('lvs_virtual_services mixes expanded services (with members) and services as written')
    return all(marked)


def member_index(service_members):
    """{host: position in members}: a real server's plan finds its own entry in each service at once (with 1,000
    real servers, scanning every service's members for every host took most of the planning's CPU)."""
    return {member['host']: position for position, member in enumerate(service_members)}


# Keys of an expanded service that are the estate's own bookkeeping, not the service's settings.
BOOKKEEPING = ('members', 'member_index')


def served_by(expanded, host):
    """The services a host is a real server of, each with that host's own member entry."""
    result = []
    for svc in expanded:
        index = svc.get('member_index')
        if index is None:
            index = member_index(svc['members'])
        if host in index:
            entry = {key: value for key, value in svc.items() if key not in BOOKKEEPING}
            entry['member'] = svc['members'][index[host]]
            result.append(entry)
    return result


def by_realserver(expanded):
    """{host: the expanded estate as that real server needs it}: each service it is a member of, with its own member
    entry alone. One pass over the estate; a play hands each real server its own part, so that a host's plan and its
    role's argument validation read the services it serves, not every member of every service (with 1,000 real
    servers, templating the whole estate for each of them made site.yml's planning grow with the square)."""
    result = {}
    for svc in expanded:
        shared = {key: value for key, value in svc.items() if key not in BOOKKEEPING}
        for member in svc['members']:
            result.setdefault(member['host'], []).append(dict(shared, members=[member], member_index={member['host']: 0}))
    return result


def proxy_services(expanded, host, owner):
    """The services one proxy host serves with haproxy or nginx (owner), each with its pools.

    Each service gets ``pools``: its default pool (named after the service, from ``realservers``) then one
    per route, each with its balance, health check and members; and ``routes``, each naming its pool.
    """
    result = []
    for svc in expanded:
        if svc['mode'] != 'proxy' or svc['owner'] != owner or host not in svc['proxy_hosts']:
            continue
        pools = [{'name': svc['name'], 'balance': svc['balance'], 'health_check': svc['health_check'],
                  'members': svc['members']}]
        routes = []
        for route in svc['routes']:
            pools.append({'name': route['name'], 'balance': route['balance'], 'health_check': route['health_check'],
                          'members': route['members']})
            routes.append({key: route[key] for key in ('name', 'path', 'path_regex', 'host') + _proxy_service.ROUTE_RULE_KEYS
                           if key in route})
        entry = {key: value for key, value in svc.items() if key not in BOOKKEEPING + ('routes',)}
        entry.update({'pools': pools, 'routes': routes, 'settings': svc[owner]})
        result.append(entry)
    return result
