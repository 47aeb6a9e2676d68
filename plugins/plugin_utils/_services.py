# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvs_virtual_services, each service checked on its own and completed with its defaults.

The estate describes each virtual service once (docs/estate.md); this file checks every key of every
service, with the IPVS modules' own validator for what goes to the kernel (or to keepalived, which
programs the same kernel), and refuses a bad service with a message that names it and the key.
Expansion against the inventory is _estate's job.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_options, _ipvs_values
from ansible_collections.lvs.cluster.plugins.plugin_utils import _health_check, _proxy_service, _values
from ansible_collections.lvs.cluster.plugins.plugin_utils._values import PlanError

MODES = ('nat', 'dr', 'tun', 'snat', 'proxy')
# The modes IPVS forwards; proxy services are served by haproxy or nginx on the proxy hosts instead.
IPVS_MODES = ('nat', 'dr', 'tun', 'snat')
# How each estate mode forwards in IPVS: snat is IPVS NAT plus source NAT on the director.
FORWARDING_OF_MODE = {'nat': 'nat', 'dr': 'dr', 'tun': 'tun', 'snat': 'nat', 'proxy': 'proxy'}
PROTOCOLS = ('tcp', 'udp', 'sctp')
OWNERS = ('director', 'keepalived', 'haproxy', 'nginx')
TUNNEL_TYPES = ('ipip', 'gue', 'gre')
NAME_RE = re.compile(r'^[a-z0-9][a-z0-9_-]{0,31}$')
WEIGHT_MAX = 2147483647

SERVICE_KEYS = (
    'name', 'address', 'port', 'protocol', 'fwmark', 'family', 'mode', 'scheduler',
    'persistence_timeout', 'persistence_netmask', 'persistence_engine', 'one_packet',
    'sh_fallback', 'sh_port', 'mh_fallback', 'mh_port', 'realservers', 'realserver_port', 'weight',
    'upper_threshold', 'lower_threshold', 'tunnel_type', 'tunnel_port', 'state', 'owner', 'nat_gateway',
    'drain_timeout', 'health_check', 'keepalived', 'haproxy', 'nginx', 'proxies', 'proxy_mode', 'balance', 'routes',
    'allow', 'deny', 'redirects', 'response_headers', 'rate_limit', 'sticky_cookie', 'basic_auth', 'tls', 'send_proxy',
)
SERVICE_DEFAULTS = {
    'protocol': 'tcp', 'mode': 'dr', 'scheduler': 'wlc', 'weight': 1, 'state': 'present',
    'owner': 'director', 'one_packet': False, 'sh_fallback': False, 'sh_port': False,
    'mh_fallback': False, 'mh_port': False, 'drain_timeout': 0,
}
# The IPVS settings of a service, as lvs.cluster.ipvs_service names them.
IPVS_SETTINGS = ('scheduler', 'persistence_timeout', 'persistence_netmask', 'persistence_engine', 'one_packet',
                 'sh_fallback', 'sh_port', 'mh_fallback', 'mh_port')
# keepalived: settings of the service's virtual_server that only keepalived has.
KEEPALIVED_KEYS = ('group', 'delay_loop', 'quorum', 'hysteresis', 'quorum_up', 'quorum_down', 'sorry_server',
                   'sorry_server_inhibit', 'inhibit_on_failure', 'alpha', 'omega', 'warmup', 'ha_suspend',
                   'virtualhost', 'extra')


def where_of(service, index):
    """How a message names a service: by its name, else by its position in the list."""
    name = service.get('name') if isinstance(service, dict) else None
    return 'lvs_virtual_services[%s]' % (name if name else index)


def normalize_service(service, index=0):
    """One service entry, checked on its own and completed with defaults."""
    where = where_of(service, index)
    if not isinstance(service, dict):
        raise PlanError('%s must be a mapping, not %s' % (where, type(service).__name__))
    unknown = sorted(set(service) - set(SERVICE_KEYS))
    if unknown:
        raise PlanError('%s has unknown key(s) %s; known keys: %s' % (where, ', '.join(unknown), ', '.join(SERVICE_KEYS)))
    svc = dict(SERVICE_DEFAULTS)
    given = {key: value for key, value in service.items() if value is not None}
    if given.get('mode') == 'proxy':
        svc.pop('scheduler')  # a proxy balances with its own algorithms (balance)
    svc.update(given)
    if not isinstance(svc.get('name'), str) or not NAME_RE.match(svc['name']):
        raise PlanError('%s.name is required: lower-case letters, digits, "-" and "_", at most 32 characters '
                        '(it names the service in keepalived, haproxy and nginx too)' % where)
    if svc.get('mode') == 'proxy':
        return _proxy_service.normalize_proxy_service(svc, where)
    for key in _proxy_service.PROXY_ONLY_KEYS:
        if key in svc:
            raise PlanError('%s.%s is only for mode proxy (a service haproxy or nginx serves)' % (where, key))
    if svc.get('owner') in _proxy_service.PROXY_OWNERS:
        raise PlanError('%s.owner is %s, which serves only services of mode proxy; set mode: proxy' % (where, svc['owner']))
    for key in _proxy_service.PROXY_OWNERS:
        if key in svc:
            raise PlanError('%s.%s holds settings for a proxy service (mode proxy, owner %s) only' % (where, key, key))
    for key, choices in (('mode', MODES), ('scheduler', _ipvs_values.SCHEDULERS), ('protocol', PROTOCOLS),
                         ('owner', OWNERS), ('state', ('present', 'absent'))):
        _values.choice(svc[key], '%s.%s' % (where, key), choices)
    if 'fwmark' in svc:
        if 'address' in svc or 'port' in svc:
            raise PlanError('%s: a firewall-mark service has fwmark and no address or port' % where)
        svc['fwmark'] = _values.integer(svc['fwmark'], where + '.fwmark', 1, 4294967295)
        svc['family'] = _values.choice(svc.get('family', 'ipv4'), where + '.family', ('ipv4', 'ipv6'))
        if svc['mode'] in ('nat', 'snat') and 'realserver_port' not in svc:
            raise PlanError('%s: a NAT firewall-mark service needs realserver_port (the port on the real servers)' % where)
        svc.pop('protocol', None)
    else:
        _values.listen(svc, where, 0, 'or fwmark for a firewall-mark service')
        if svc['port'] == 0 and 'persistence_timeout' not in svc:
            raise PlanError('%s.port 0 (all ports) is only valid for a persistent service: set persistence_timeout' % where)
    if 'realservers' not in svc or not isinstance(svc['realservers'], str):
        raise PlanError('%s.realservers must name the inventory group that holds its real servers' % where)
    if 'realserver_port' in svc:
        svc['realserver_port'] = _values.integer(svc['realserver_port'], where + '.realserver_port', 1, 65535)
        if svc['mode'] in ('dr', 'tun') and svc['realserver_port'] != svc.get('port'):
            raise PlanError('%s.realserver_port is %d but the service listens on %s: %s mode cannot map ports '
                            '(the real servers answer on the VIP\'s own port); use mode nat to map ports'
                            % (where, svc['realserver_port'], svc.get('port'), svc['mode']))
    svc['weight'] = _values.integer(svc['weight'], where + '.weight', 0, WEIGHT_MAX)
    for key in ('upper_threshold', 'lower_threshold'):
        if key in svc:
            svc[key] = _values.integer(svc[key], '%s.%s' % (where, key), 0, 2147483647)
    if svc.get('lower_threshold') and not svc.get('upper_threshold'):
        raise PlanError('%s.lower_threshold needs upper_threshold: it is the level at which an overloaded server '
                        'comes back' % where)
    if svc.get('lower_threshold', 0) > svc.get('upper_threshold', 0):
        raise PlanError('%s.lower_threshold %d is above upper_threshold %d (the kernel refuses it)'
                        % (where, svc['lower_threshold'], svc['upper_threshold']))
    if 'persistence_timeout' in svc:
        svc['persistence_timeout'] = _values.integer(svc['persistence_timeout'], where + '.persistence_timeout',
                                                     1, _ipvs_values.MAX_TIMEOUT)
    svc['drain_timeout'] = _values.integer(svc['drain_timeout'], where + '.drain_timeout', 0, 86400)
    for key in ('one_packet', 'sh_fallback', 'sh_port', 'mh_fallback', 'mh_port'):
        _values.boolean(svc[key], '%s.%s' % (where, key))
    _tunnel(svc, where)
    if svc['mode'] == 'nat' and 'nat_gateway' in svc:
        _values.address(svc['nat_gateway'], where + '.nat_gateway')
    if svc['mode'] == 'snat' and svc['family'] != 'ipv4':
        raise PlanError('%s: mode snat is implemented for IPv4 services only' % where)
    _ipvs_settings(svc, where)
    svc['health_check'] = _health_check.normalize_health_check(svc, svc.get('health_check'), where)
    svc['keepalived'] = normalize_keepalived_settings(svc, where)
    if svc['owner'] == 'keepalived' and svc['mode'] == 'snat':
        raise PlanError('%s: mode snat needs the director role\'s source NAT; keepalived cannot own it '
                        '(use mode nat with the real servers routing back through a VIP, or owner director)' % where)
    return svc


def _tunnel(svc, where):
    for key in ('tunnel_type', 'tunnel_port'):
        if key in svc and svc['mode'] != 'tun':
            raise PlanError('%s.%s is only for mode tun' % (where, key))
    if 'tunnel_type' in svc:
        _values.choice(svc['tunnel_type'], where + '.tunnel_type', TUNNEL_TYPES)
    if 'tunnel_port' in svc:
        if svc.get('tunnel_type') != 'gue':
            raise PlanError('%s.tunnel_port is only for tunnel_type gue' % where)
        svc['tunnel_port'] = _values.integer(svc['tunnel_port'], where + '.tunnel_port', 1, 65535)
    elif svc.get('tunnel_type') == 'gue':
        raise PlanError('%s.tunnel_port is required for tunnel_type gue: the UDP port the real servers receive GUE on'
                        % where)


def _ipvs_settings(svc, where):
    """The service's IPVS settings through lvs.cluster.ipvs_service's own validator (keepalived programs the same
    kernel, so its services are held to it too); the persistence netmask comes back as a prefix length."""
    params = {key: svc[key] for key in ('address', 'port', 'protocol', 'fwmark') + IPVS_SETTINGS if key in svc}
    if 'fwmark' in svc:
        params['family'] = svc['family']
    try:
        service = _ipvs_options.service_from_params(params)
    except _ipvs_values.IpvsOptionError as exc:
        raise PlanError('%s.%s: %s' % (where, exc.option, exc.reason))
    if 'persistence_netmask' in svc:
        svc['persistence_netmask'] = service['persistence_netmask']


def normalize_keepalived_settings(svc, where):
    """Settings of the service's keepalived virtual_server, checked."""
    given = svc.get('keepalived')
    where = where + '.keepalived'
    if given is None:
        return {}
    result = _values.mapping(given, where, KEEPALIVED_KEYS)
    if 'group' in result and (not isinstance(result['group'], str) or not NAME_RE.match(result['group'])):
        raise PlanError('%s.group must be a name like a service\'s ([a-z0-9][a-z0-9_-]*), not %r' % (where, result['group']))
    for key, low, high in (('delay_loop', 1, 86400), ('quorum', 1, 2147483647), ('hysteresis', 0, 2147483647),
                           ('warmup', 0, 86400)):
        if key in result:
            result[key] = _values.integer(result[key], '%s.%s' % (where, key), low, high)
    for key in ('sorry_server_inhibit', 'inhibit_on_failure', 'alpha', 'omega', 'ha_suspend'):
        if key in result:
            _values.boolean(result[key], '%s.%s' % (where, key))
    for key in ('quorum_up', 'quorum_down', 'virtualhost'):
        if key in result:
            _values.text(result[key], '%s.%s' % (where, key))
    if 'sorry_server' in result:
        sorry = result['sorry_server']
        if not isinstance(sorry, dict) or 'address' not in sorry or set(sorry) - {'address', 'port'}:
            raise PlanError('%s.sorry_server must be a mapping with address (and port), not %r' % (where, sorry))
        address = _values.address(sorry['address'], where + '.sorry_server.address')
        if 'fwmark' not in svc and (address.version == 6) != (svc['family'] == 'ipv6'):
            raise PlanError('%s.sorry_server.address %s is not of the family of the service' % (where, address))
        port = sorry.get('port', svc.get('realserver_port', svc.get('port')))
        result['sorry_server'] = {'address': str(address),
                                  'port': _values.integer(port, where + '.sorry_server.port', 0, 65535) if port is not None else 0}
    if 'extra' in result:
        _values.lines(result['extra'], where + '.extra')
    return result


def normalize_services(services):
    """Every service checked, names unique, no two services on the same VIP, port and protocol."""
    if services is None:
        return []
    if not isinstance(services, list):
        raise PlanError('lvs_virtual_services must be a list of services, not %s' % type(services).__name__)
    result, names, keys = [], {}, {}
    for index, service in enumerate(services):
        svc = normalize_service(service, index)
        if svc['name'] in names:
            raise PlanError('lvs_virtual_services: the name %r is used twice (entries %d and %d)'
                            % (svc['name'], names[svc['name']], index))
        names[svc['name']] = index
        service_keys = [service_key(svc)]
        if 'http_redirect_port' in svc.get('tls', {}):
            # the port a TLS service redirects from is the proxy's too
            service_keys.append(('tcp', svc['address'], svc['tls']['http_redirect_port']))
        for key in service_keys:
            if key in keys:
                raise PlanError('lvs_virtual_services[%s] and [%s] are the same virtual service (%s)'
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
