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

MODES = ('nat', 'dr', 'tun', 'snat', 'proxy')
# The modes IPVS forwards; proxy services are served by haproxy or nginx on the proxy hosts instead.
IPVS_MODES = ('nat', 'dr', 'tun', 'snat')
# How each estate mode forwards in IPVS: snat is IPVS NAT plus source NAT on the director.
FORWARDING_OF_MODE = {'nat': 'nat', 'dr': 'dr', 'tun': 'tun', 'snat': 'nat', 'proxy': 'proxy'}
SCHEDULERS = ('rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh', 'fo', 'ovf', 'twos')
PROTOCOLS = ('tcp', 'udp', 'sctp')
OWNERS = ('director', 'keepalived', 'haproxy', 'nginx')
# Owners of proxy services: the proxy that serves them.
PROXY_OWNERS = ('haproxy', 'nginx')
PROXY_MODES = ('http', 'tcp')
# Balance algorithms each proxy has, by proxy_mode; hdr(NAME) (haproxy) and hash KEY [consistent] (nginx)
# are checked by pattern.
PROXY_BALANCE = {
    ('haproxy', 'http'): ('roundrobin', 'static-rr', 'leastconn', 'first', 'source', 'random', 'uri'),
    ('haproxy', 'tcp'): ('roundrobin', 'static-rr', 'leastconn', 'first', 'source', 'random'),
    ('nginx', 'http'): ('roundrobin', 'least_conn', 'ip_hash', 'random'),
    ('nginx', 'tcp'): ('roundrobin', 'least_conn', 'random'),
}
HAPROXY_HDR_RE = re.compile(r'^hdr\([A-Za-z0-9-]+\)$')
NGINX_HASH_RE = re.compile(r'^hash [^\s;{}]+( consistent)?$')
# What a route of an http proxy service may say: which requests (path prefix, path regex, Host) go to
# which pool of real servers.
ROUTE_KEYS = ('name', 'path', 'path_regex', 'host', 'realservers', 'balance', 'health_check')
# Service keys that only IPVS has (refused for proxy services), and keys only proxies have.
IPVS_ONLY_KEYS = ('scheduler', 'persistence_timeout', 'persistence_netmask', 'persistence_engine', 'one_packet',
                  'sh_fallback', 'sh_port', 'mh_fallback', 'mh_port', 'upper_threshold', 'lower_threshold',
                  'tunnel_type', 'tunnel_port', 'nat_gateway', 'fwmark', 'keepalived')
PROXY_ONLY_KEYS = ('proxies', 'proxy_mode', 'balance', 'routes')
TUNNEL_TYPES = ('ipip', 'gue', 'gre')
NAME_RE = re.compile(r'^[a-z0-9][a-z0-9_-]{0,31}$')
WEIGHT_MAX = 2147483647

SERVICE_KEYS = (
    'name', 'address', 'port', 'protocol', 'fwmark', 'family', 'mode', 'scheduler',
    'persistence_timeout', 'persistence_netmask', 'persistence_engine', 'one_packet',
    'sh_fallback', 'sh_port', 'mh_fallback', 'mh_port', 'realservers', 'realserver_port', 'weight',
    'upper_threshold', 'lower_threshold', 'tunnel_type', 'tunnel_port', 'state', 'owner', 'nat_gateway',
    'drain_timeout', 'health_check', 'keepalived', 'haproxy', 'nginx', 'proxies', 'proxy_mode', 'balance', 'routes',
)
SERVICE_DEFAULTS = {
    'protocol': 'tcp', 'mode': 'dr', 'scheduler': 'wlc', 'weight': 1, 'state': 'present',
    'owner': 'director', 'one_packet': False, 'sh_fallback': False, 'sh_port': False,
    'mh_fallback': False, 'mh_port': False, 'drain_timeout': 0,
}
# Per-service settings a real server may override for itself, in lvs_overrides.SERVICE.
MEMBER_OVERRIDES = ('weight', 'port', 'upper_threshold', 'lower_threshold', 'state', 'backup', 'maxconn')
# Overrides only a proxy has: a backup server (used when every other one is down) and a connection cap.
PROXY_MEMBER_OVERRIDES = ('backup', 'maxconn')
MEMBER_STATES = ('present', 'drained', 'absent')

# health_check: how every role that balances a service (keepalived, haproxy, nginx) checks its real
# servers. One description, each role maps it to its own checker.
HEALTH_CHECK_KEYS = ('type', 'port', 'path', 'status', 'digest', 'host', 'script', 'user', 'interval', 'timeout',
                     'retries', 'retry_delay')
HEALTH_CHECK_TYPES = ('tcp', 'http', 'https', 'mysql', 'script', 'none')
HEALTH_CHECK_DEFAULTS = {'interval': 6, 'timeout': 3, 'retries': 1, 'retry_delay': 1}
# keepalived: settings of the service's virtual_server that only keepalived has.
KEEPALIVED_KEYS = ('group', 'delay_loop', 'quorum', 'hysteresis', 'quorum_up', 'quorum_down', 'sorry_server',
                   'sorry_server_inhibit', 'inhibit_on_failure', 'alpha', 'omega', 'warmup', 'ha_suspend',
                   'virtualhost', 'extra')


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
    given = {key: value for key, value in service.items() if value is not None}
    if given.get('mode') == 'proxy':
        svc.pop('scheduler')  # a proxy balances with its own algorithms (balance)
    svc.update(given)
    if not isinstance(svc.get('name'), str) or not NAME_RE.match(svc['name']):
        raise EstateError('%s.name is required: lower-case letters, digits, "-" and "_", at most 32 characters '
                          '(it names the service in keepalived, haproxy and nginx too)' % where)
    if svc.get('mode') == 'proxy':
        return _proxy_service(svc, where)
    for key in PROXY_ONLY_KEYS:
        if key in svc:
            raise EstateError('%s.%s is only for mode proxy (a service haproxy or nginx serves)' % (where, key))
    if svc.get('owner') in PROXY_OWNERS:
        raise EstateError('%s.owner is %s, which serves only services of mode proxy; set mode: proxy'
                          % (where, svc['owner']))
    for key in PROXY_OWNERS:
        if key in svc:
            raise EstateError('%s.%s holds settings for a proxy service (mode proxy, owner %s) only' % (where, key, key))
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
        _listen(svc, where, 0, 'or fwmark for a firewall-mark service')
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
    svc['health_check'] = _health_check(svc, where)
    svc['keepalived'] = _keepalived_settings(svc, where)
    if svc['owner'] == 'keepalived' and svc['mode'] == 'snat':
        raise EstateError('%s: mode snat needs the director role\'s source NAT; keepalived cannot own it '
                          '(use mode nat with the real servers routing back through a VIP, or owner director)' % where)
    return svc


def _listen(svc, where, lowest_port, what):
    """The service's VIP and port, checked, and the family its VIP gives it."""
    if 'address' not in svc or 'port' not in svc:
        raise EstateError('%s needs address and port (%s)' % (where, what))
    vip = _address(svc['address'], where, 'address')
    svc['address'] = str(vip)
    svc['family'] = 'ipv6' if vip.version == 6 else 'ipv4'
    svc['port'] = _int(svc['port'], where, 'port', lowest_port, 65535)


def _bool(value, where, key):
    if not isinstance(value, bool):
        raise EstateError('%s.%s must be true or false, not %r' % (where, key, value))
    return value


def _text(value, where, key):
    if not isinstance(value, str) or not value.strip() or '\n' in value:
        raise EstateError('%s.%s must be a non-empty one-line string, not %r' % (where, key, value))
    return value


def _health_check(svc, where):
    """The service's health check, complete: what every balancing role maps to its own checker."""
    given = svc.get('health_check')
    where = where + '.health_check'
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise EstateError('%s must be a mapping, not %s' % (where, type(given).__name__))
    unknown = sorted(set(given) - set(HEALTH_CHECK_KEYS))
    if unknown:
        raise EstateError('%s has unknown key(s) %s; known keys: %s' % (where, ', '.join(unknown), ', '.join(HEALTH_CHECK_KEYS)))
    check = dict(HEALTH_CHECK_DEFAULTS)
    # A TCP service is checked by connecting to it unless told otherwise; UDP and SCTP have no default check.
    check['type'] = 'tcp' if svc.get('protocol', 'tcp') == 'tcp' and 'fwmark' not in svc else 'none'
    check.update({key: value for key, value in given.items() if value is not None})
    if check['type'] not in HEALTH_CHECK_TYPES:
        raise EstateError('%s.type is %r; it must be one of %s' % (where, check['type'], ', '.join(HEALTH_CHECK_TYPES)))
    check['interval'] = _int(check['interval'], where, 'interval', 1, 86400)
    check['timeout'] = _int(check['timeout'], where, 'timeout', 1, 3600)
    check['retries'] = _int(check['retries'], where, 'retries', 0, 100)
    check['retry_delay'] = _int(check['retry_delay'], where, 'retry_delay', 0, 3600)
    if 'port' in check:
        check['port'] = _int(check['port'], where, 'port', 1, 65535)
    kind = check['type']
    if kind in ('tcp', 'http', 'https', 'mysql') and svc.get('protocol', 'tcp') != 'tcp' and 'fwmark' not in svc:
        raise EstateError('%s.type is %s but the service is %s: use type script (or none)' % (where, kind, svc['protocol']))
    for key in ('path', 'status', 'digest', 'host'):
        if key in check and kind not in ('http', 'https'):
            raise EstateError('%s.%s is only for type http or https' % (where, key))
    if kind in ('http', 'https'):
        check['path'] = _text(check.get('path', '/'), where, 'path')
        if not check['path'].startswith('/'):
            raise EstateError('%s.path must start with "/", not %r' % (where, check['path']))
        if 'digest' in check:
            if not isinstance(check['digest'], str) or not re.match(r'^[0-9a-f]{32}$', check['digest']):
                raise EstateError('%s.digest must be the MD5 of the page as 32 lower-case hex digits '
                                  '(genhash prints it), not %r' % (where, check['digest']))
        if 'status' in check or 'digest' not in check:
            status = check.get('status', [200])
            status = status if isinstance(status, list) else [status]
            check['status'] = [_int(code, where, 'status', 100, 599) for code in status]
            if not check['status']:
                raise EstateError('%s.status must list at least one HTTP status code' % where)
        if 'host' in check:
            _text(check['host'], where, 'host')
    if kind == 'script':
        if 'script' not in check:
            raise EstateError('%s.script is required for type script: the command that checks one real server '
                              '({address} and {port} are replaced by the real server\'s)' % where)
        _text(check['script'], where, 'script')
    elif 'script' in check or ('user' in check and kind != 'mysql'):
        raise EstateError('%s.script and user are only for type script (user also for mysql)' % where)
    if 'user' in check:
        _text(check['user'], where, 'user')
    return check


def _keepalived_settings(svc, where):
    """Settings of the service's keepalived virtual_server, checked."""
    given = svc.get('keepalived')
    where = where + '.keepalived'
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise EstateError('%s must be a mapping, not %s' % (where, type(given).__name__))
    unknown = sorted(set(given) - set(KEEPALIVED_KEYS))
    if unknown:
        raise EstateError('%s has unknown key(s) %s; known keys: %s' % (where, ', '.join(unknown), ', '.join(KEEPALIVED_KEYS)))
    result = {key: value for key, value in given.items() if value is not None}
    if 'group' in result and (not isinstance(result['group'], str) or not NAME_RE.match(result['group'])):
        raise EstateError('%s.group must be a name like a service\'s ([a-z0-9][a-z0-9_-]*), not %r' % (where, result['group']))
    for key, low, high in (('delay_loop', 1, 86400), ('quorum', 1, 2147483647), ('hysteresis', 0, 2147483647),
                           ('warmup', 0, 86400)):
        if key in result:
            result[key] = _int(result[key], where, key, low, high)
    for key in ('sorry_server_inhibit', 'inhibit_on_failure', 'alpha', 'omega', 'ha_suspend'):
        if key in result:
            _bool(result[key], where, key)
    for key in ('quorum_up', 'quorum_down', 'virtualhost'):
        if key in result:
            _text(result[key], where, key)
    if 'sorry_server' in result:
        sorry = result['sorry_server']
        if not isinstance(sorry, dict) or 'address' not in sorry or set(sorry) - {'address', 'port'}:
            raise EstateError('%s.sorry_server must be a mapping with address (and port), not %r' % (where, sorry))
        address = _address(sorry['address'], where, 'sorry_server.address')
        if 'fwmark' not in svc and (address.version == 6) != (svc['family'] == 'ipv6'):
            raise EstateError('%s.sorry_server.address %s is not of the family of the service' % (where, address))
        default_port = svc.get('realserver_port', svc.get('port'))
        port = sorry.get('port', default_port)
        result['sorry_server'] = {'address': str(address),
                                  'port': _int(port, where, 'sorry_server.port', 0, 65535) if port is not None else 0}
    if 'extra' in result:
        extra = result['extra']
        if not isinstance(extra, list) or not all(isinstance(line, str) and '\n' not in line for line in extra):
            raise EstateError('%s.extra must be a list of one-line strings (lines copied into the virtual_server block)'
                              % where)
    return result


def _balance(value, owner, proxy_mode, where):
    choices = PROXY_BALANCE[(owner, proxy_mode)]
    if isinstance(value, str) and (value in choices
                                   or (owner == 'haproxy' and proxy_mode == 'http' and HAPROXY_HDR_RE.match(value))
                                   or (owner == 'nginx' and NGINX_HASH_RE.match(value))):
        return value
    extra = {'haproxy': ', hdr(NAME)' if proxy_mode == 'http' else '', 'nginx': ', hash KEY [consistent]'}[owner]
    raise EstateError('%s.balance is %r; %s in %s mode balances with one of %s%s'
                      % (where, value, owner, proxy_mode, ', '.join(choices), extra))


def _proxy_service(svc, where):
    """A service haproxy or nginx serves on the proxy hosts (mode proxy), checked and completed."""
    owner = svc.get('owner')
    if owner not in PROXY_OWNERS:
        raise EstateError('%s: mode proxy needs owner haproxy or nginx (the proxy that serves it), not %r'
                          % (where, owner))
    for key in IPVS_ONLY_KEYS:
        if key in svc and not (key in ('one_packet', 'sh_fallback', 'sh_port', 'mh_fallback', 'mh_port')
                               and svc[key] is False):
            raise EstateError('%s.%s is an IPVS setting; a proxy service (mode proxy) does not have it%s'
                              % (where, key, ' (balance chooses its algorithm)' if key == 'scheduler' else ''))
    other = [key for key in PROXY_OWNERS if key != owner and key in svc]
    if other:
        raise EstateError('%s.%s holds %s settings, but owner is %s' % (where, other[0], other[0], owner))
    if svc['state'] not in ('present', 'absent'):
        raise EstateError('%s.state is %r; it must be one of present, absent' % (where, svc['state']))
    if svc['protocol'] != 'tcp':
        raise EstateError('%s.protocol is %r; a proxy service is tcp' % (where, svc['protocol']))
    _listen(svc, where, 1, 'where the proxy listens: the VIP')
    for key in ('realservers', 'proxies'):
        if not isinstance(svc.get(key), str) or not svc[key]:
            raise EstateError('%s.%s must name the inventory group that holds its %s' % (
                where, key, 'real servers' if key == 'realservers' else 'proxy hosts (where %s runs)' % owner))
    if 'realserver_port' in svc:
        svc['realserver_port'] = _int(svc['realserver_port'], where, 'realserver_port', 1, 65535)
    svc['weight'] = _int(svc['weight'], where, 'weight', 0, 256 if owner == 'haproxy' else WEIGHT_MAX)
    svc['drain_timeout'] = _int(svc['drain_timeout'], where, 'drain_timeout', 0, 86400)
    svc['proxy_mode'] = svc.get('proxy_mode', 'http')
    if svc['proxy_mode'] not in PROXY_MODES:
        raise EstateError('%s.proxy_mode is %r; it must be one of %s' % (where, svc['proxy_mode'], ', '.join(PROXY_MODES)))
    svc['balance'] = _balance(svc.get('balance', 'roundrobin'), owner, svc['proxy_mode'], where)
    svc['health_check'] = _proxy_health_check(svc, svc.get('health_check'), where)
    settings = svc.get(owner, {})
    if not isinstance(settings, dict):
        raise EstateError('%s.%s must be a mapping of %s settings, not %s' % (where, owner, owner, type(settings).__name__))
    svc[owner] = settings
    svc['routes'] = _routes(svc, where)
    return svc


def _proxy_health_check(svc, given, where):
    check = _health_check(dict(svc, health_check=given), where)
    kind = check['type']
    if kind == 'script':
        raise EstateError('%s.health_check.type script is keepalived\'s; %s checks with tcp, http, https, mysql or none'
                          % (where, svc['owner']))
    if kind == 'mysql' and (svc['owner'] != 'haproxy' or svc['proxy_mode'] != 'tcp'):
        raise EstateError('%s.health_check.type mysql is haproxy\'s check of a tcp service (proxy_mode tcp)' % where)
    if kind == 'https' and svc['owner'] == 'haproxy' and svc['proxy_mode'] == 'tcp':
        raise EstateError('%s.health_check.type https is for an http service' % where)
    return check


def _routes(svc, where):
    """An http proxy service's routes: requests matching a path prefix, a path regex or a Host go to a pool."""
    routes = svc.get('routes', [])
    if routes and svc['proxy_mode'] != 'http':
        raise EstateError('%s.routes route requests by path or Host, so they are for proxy_mode http only' % where)
    if not isinstance(routes, list):
        raise EstateError('%s.routes must be a list of routes, not %s' % (where, type(routes).__name__))
    result, names = [], {svc['name']}
    for index, route in enumerate(routes):
        here = '%s.routes[%d]' % (where, index)
        if not isinstance(route, dict):
            raise EstateError('%s must be a mapping, not %s' % (here, type(route).__name__))
        unknown = sorted(set(route) - set(ROUTE_KEYS))
        if unknown:
            raise EstateError('%s has unknown key(s) %s; known keys: %s' % (here, ', '.join(unknown), ', '.join(ROUTE_KEYS)))
        route = {key: value for key, value in route.items() if value is not None}
        if not isinstance(route.get('realservers'), str) or not route['realservers']:
            raise EstateError('%s.realservers must name the inventory group of the pool this route sends to' % here)
        if not any(key in route for key in ('path', 'path_regex', 'host')):
            raise EstateError('%s says which requests it takes with path (a prefix), path_regex or host' % here)
        if 'path' in route and 'path_regex' in route:
            raise EstateError('%s has path and path_regex; give one' % here)
        if 'path' in route and (not isinstance(route['path'], str) or not route['path'].startswith('/')
                                or re.search(r'[\s;{}"]', route['path'])):
            raise EstateError('%s.path must be a path prefix starting with "/" (no spaces, quotes, ";" or braces), '
                              'not %r' % (here, route['path']))
        if 'path_regex' in route:
            _text(route['path_regex'], here, 'path_regex')
            if re.search(r'[\s;{}"]', route['path_regex']):
                raise EstateError('%s.path_regex must have no spaces, quotes, ";" or braces, not %r' % (here, route['path_regex']))
            try:
                re.compile(route['path_regex'])
            except re.error as exc:
                raise EstateError('%s.path_regex %r is not a regular expression: %s' % (here, route['path_regex'], exc))
        if 'host' in route and (not isinstance(route['host'], str) or not re.match(r'^[A-Za-z0-9.*-]+$', route['host'])):
            raise EstateError('%s.host must be a host name (letters, digits, ".", "-", a leading "*."), not %r'
                              % (here, route['host']))
        name = route.get('name', '%s_%s' % (svc['name'], re.sub(r'[^a-z0-9_-]', '_', route['realservers'].lower())))
        if not isinstance(name, str) or not re.match(r'^[a-z0-9][a-z0-9_-]{0,63}$', name):
            raise EstateError('%s.name must be a name like a service\'s, not %r' % (here, name))
        if name in names:
            raise EstateError('%s.name %r is used twice in the service (name the route)' % (here, name))
        names.add(name)
        route['name'] = name
        route['balance'] = _balance(route.get('balance', svc['balance']), svc['owner'], 'http', here)
        route['health_check'] = (_proxy_health_check(svc, route['health_check'], here) if 'health_check' in route
                                 else svc['health_check'])
        result.append(route)
    return result


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
        if svc.get('address') == address and svc['mode'] != 'proxy':
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
        if svc['mode'] == 'proxy':
            if svc['owner'] == 'haproxy' and member['weight'] > 256:
                raise EstateError('host %s: weight %d for %s; haproxy weights go up to 256' % (host, member['weight'], where))
            member['backup'] = _bool(overrides.get('backup', False), 'host %s: lvs_overrides.%s' % (host, svc['name']),
                                     'backup')
            if 'maxconn' in overrides:
                member['maxconn'] = _int(overrides['maxconn'], 'host %s: lvs_overrides.%s' % (host, svc['name']),
                                         'maxconn', 1, 2147483647)
        else:
            for key in PROXY_MEMBER_OVERRIDES:
                if key in overrides:
                    raise EstateError('host %s: lvs_overrides.%s.%s is for proxy services only' % (host, svc['name'], key))
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
        if svc['mode'] == 'proxy':
            if svc['proxies'] not in groups:
                raise EstateError('lvs_virtual_services[%s].proxies names the inventory group %r, which does not exist'
                                  % (svc['name'], svc['proxies']))
            svc['proxy_hosts'] = list(groups[svc['proxies']])
            svc['routes'] = [dict(route, members=members(dict(svc, realservers=route['realservers']), hostvars, groups))
                             for route in svc['routes']]
        expanded.append(svc)
    return expanded


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
            routes.append({key: route[key] for key in ('name', 'path', 'path_regex', 'host') if key in route})
        entry = {key: value for key, value in svc.items() if key not in ('members', 'routes')}
        entry.update({'pools': pools, 'routes': routes, 'settings': svc[owner]})
        result.append(entry)
    return result


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
    """What a director needs: modules and sysctls for every service it runs (whoever programs IPVS for it),
    and VIPs, the saved table and records for the services it owns.

    Services keepalived owns run in the same kernel (keepalived programs them), so their schedulers, tunnel
    modules and forwarding sysctls are the director's too; their idents are listed in ``foreign`` so that
    a service handed over to keepalived is never removed by the director (see removed_services).
    """
    owned = [svc for svc in expanded if svc['owner'] == 'director']
    present = [svc for svc in owned if svc['state'] == 'present']
    running = [svc for svc in expanded if svc['state'] == 'present' and svc['mode'] in IPVS_MODES]
    modules = ['ip_vs']
    sysctls = {}
    for svc in running:
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
    if running:
        # A packet of a connection whose real server was drained or removed is otherwise dropped until the entry
        # expires (minutes, for a reused client port); with this the entry goes and the connection is scheduled
        # afresh. ipvs_sysctls may set it back to 0.
        sysctls['net.ipv4.vs.expire_nodest_conn'] = 1
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
        'foreign': [service_ident(svc) for svc in running if svc['owner'] != 'director'],
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


def leaving_servers(svc, kernel_services):
    """Real servers the kernel has in this service that the estate no longer lists (to drain first)."""
    wanted = {(m['address'], m['port']) for m in svc['members'] if m['state'] != 'absent'}
    return [server for server in kernel_servers(service_ident(svc), kernel_services)
            if (server['address'], server['port']) not in wanted]


KEEPALIVED_METHOD = {'dr': 'DR', 'nat': 'NAT', 'tun': 'TUN'}
# keepalived has no MySQL checker of its own: a mysql check is a TCP connect there.
KEEPALIVED_CHECKER = {'tcp': 'TCP_CHECK', 'mysql': 'TCP_CHECK', 'http': 'HTTP_GET', 'https': 'SSL_GET',
                      'script': 'MISC_CHECK'}
# What must be the same for services that keepalived serves as one virtual_server group.
GROUP_SHARED = ('mode', 'scheduler', 'persistence_timeout', 'persistence_netmask', 'persistence_engine', 'one_packet',
                'sh_fallback', 'sh_port', 'mh_fallback', 'mh_port', 'realservers', 'family', 'health_check',
                'tunnel_type', 'tunnel_port')


def _quote(text):
    """A keepalived string argument: quoted when it has blanks, with its quotes escaped."""
    text = str(text)
    if re.search(r'[\s"#!]', text):
        return '"%s"' % text.replace('\\', '\\\\').replace('"', '\\"')
    return text


def _endpoint_words(address, port):
    return '%s %s' % (address, port) if port else address


def _netmask(value, family):
    """persistence_netmask as keepalived's persistence_granularity: a dotted mask for IPv4, a prefix for IPv6."""
    if family == 'ipv6' or not str(value).isdigit():
        return str(value)
    return str(ipaddress.ip_network('0.0.0.0/%s' % value).netmask)


def _checker(svc, member):
    """The checker block of one real server, from the service's health_check; None for type none."""
    check = svc['health_check']
    kind = check['type']
    if kind == 'none':
        return None
    where = 'lvs_virtual_services[%s].health_check' % svc['name']
    port = check.get('port') or member['port']
    if kind != 'script' and not port:
        raise EstateError('%s.port is required: the real servers of %s have no port of their own (a firewall-mark '
                          'service), so the checker must be told where to connect' % (where, svc['name']))
    options = []
    urls = []
    if kind == 'script':
        command = check['script'].replace('{address}', member['address']).replace('{port}', str(member['port']))
        command = command.replace('{host}', member['host'])
        options.append(['misc_path', _quote(command)])
        options.append(['misc_timeout', check['timeout']])
        if 'user' in check:
            options.append(['user', check['user']])
    else:
        if check.get('port') and check['port'] != member['port']:
            options.append(['connect_port', check['port']])
        elif not member['port']:
            options.append(['connect_port', port])
        options.append(['connect_timeout', check['timeout']])
    options.append(['retry', check['retries']])
    options.append(['delay_before_retry', check['retry_delay']])
    if kind in ('http', 'https'):
        url = [['path', _quote(check['path'])]]
        if 'digest' in check:
            url.append(['digest', check['digest']])
        if check.get('status'):
            url.append(['status_code', ' '.join(str(code) for code in check['status'])])
        if 'host' in check:
            url.append(['virtualhost', _quote(check['host'])])
        urls.append(url)
    return {'type': KEEPALIVED_CHECKER[kind], 'options': options, 'urls': urls}


def _virtual_server_options(svc):
    """The options of one virtual_server block, in keepalived's own words and in a stable order."""
    settings = svc['keepalived']
    options = [['delay_loop', settings.get('delay_loop', svc['health_check']['interval'])],
               ['lvs_sched', svc['scheduler']]]
    method = KEEPALIVED_METHOD[svc['mode']]
    if svc['mode'] == 'tun' and svc.get('tunnel_type') and svc['tunnel_type'] != 'ipip':
        method += ' type %s' % svc['tunnel_type']
        if svc['tunnel_type'] == 'gue':
            method += ' port %s' % svc.get('tunnel_port', 6080)
    options.append(['lvs_method', method])
    if 'protocol' in svc:
        options.append(['protocol', svc['protocol'].upper()])
    elif svc['family'] == 'ipv6':
        options.append(['ip_family', 'inet6'])
    if svc.get('persistence_timeout'):
        options.append(['persistence_timeout', svc['persistence_timeout']])
        if svc.get('persistence_netmask') is not None:
            options.append(['persistence_granularity', _netmask(svc['persistence_netmask'], svc['family'])])
    if svc.get('persistence_engine'):
        options.append(['persistence_engine', svc['persistence_engine']])
    for key, word in (('one_packet', 'ops'), ('sh_fallback', 'sh-fallback'), ('sh_port', 'sh-port'),
                      ('mh_fallback', 'mh-fallback'), ('mh_port', 'mh-port')):
        if svc.get(key):
            options.append([word, None])
    for key in ('quorum', 'hysteresis', 'warmup'):
        if key in settings:
            options.append([key, settings[key]])
    for key in ('quorum_up', 'quorum_down', 'virtualhost'):
        if key in settings:
            options.append([key, _quote(settings[key])])
    for key in ('alpha', 'omega', 'ha_suspend', 'inhibit_on_failure', 'sorry_server_inhibit'):
        if settings.get(key):
            options.append([key, None])
    if 'sorry_server' in settings:
        options.append(['sorry_server', _endpoint_words(settings['sorry_server']['address'], settings['sorry_server']['port'])])
    for line in settings.get('extra', []):
        options.append([line, None])
    return options


def _real_servers(svc):
    servers = []
    total = 0
    for member in svc['members']:
        if member['state'] == 'absent':
            continue
        weight = 0 if member['state'] == 'drained' else member['weight']
        total += weight
        options = [['weight', weight]]
        if 'upper_threshold' in member:
            options.append(['uthreshold', member['upper_threshold']])
        if 'lower_threshold' in member:
            options.append(['lthreshold', member['lower_threshold']])
        # keepalived ignores (and its config test refuses) a port on a firewall-mark service's real server.
        port = 0 if 'fwmark' in svc else member['port']
        servers.append({'host': member['host'], 'endpoint': _endpoint_words(member['address'], port),
                        'options': options, 'checker': _checker(svc, member)})
    where = 'lvs_virtual_services[%s]' % svc['name']
    if not servers:
        raise EstateError('%s is owned by keepalived but has no real server (group %s is empty or every member is '
                          'absent); keepalived refuses a virtual_server without real servers: set the service\'s state '
                          'to absent' % (where, svc['realservers']))
    quorum = svc['keepalived'].get('quorum', 1)
    if total < quorum:
        raise EstateError('%s: the weights of its real servers add up to %d, less than its quorum %d (every one drained or '
                          'of weight 0?); keepalived refuses such a virtual_server: keep one real server in service, or '
                          'set the service\'s state to absent' % (where, total, quorum))
    return servers


def keepalived_virtual_servers(expanded):
    """keepalived's virtual_server and virtual_server_group blocks for the services keepalived owns.

    Returns ``{'groups': [{name, entries}], 'virtual_servers': [{name, services, endpoint, options, real_servers}]}``
    where options are ``[word, value]`` pairs (value None for a bare flag) in keepalived's own words.
    """
    owned = [svc for svc in expanded if svc['owner'] == 'keepalived' and svc['state'] == 'present']
    groups, order = {}, []
    for svc in owned:
        name = svc['keepalived'].get('group')
        if name is None:
            order.append(('service', svc))
            continue
        if name not in groups:
            groups[name] = []
            order.append(('group', name))
        first = groups[name][0] if groups[name] else None
        if first is not None:
            for key in GROUP_SHARED:
                if first.get(key) != svc.get(key):
                    raise EstateError('lvs_virtual_services[%s] and [%s] are in keepalived group %s but differ in %s; the '
                                      'services of one virtual_server_group share one virtual_server'
                                      % (first['name'], svc['name'], name, key))
            if ('protocol' in first) != ('protocol' in svc) or first.get('protocol') != svc.get('protocol'):
                raise EstateError('lvs_virtual_services[%s] and [%s] are in keepalived group %s but differ in protocol'
                                  % (first['name'], svc['name'], name))
            if [(m['address'], m['port']) for m in first['members']] != [(m['address'], m['port']) for m in svc['members']]:
                raise EstateError('lvs_virtual_services[%s] and [%s] are in keepalived group %s but their real servers '
                                  'listen on different ports' % (first['name'], svc['name'], name))
            if dict(first['keepalived'], group=None) != dict(svc['keepalived'], group=None):
                raise EstateError('lvs_virtual_services[%s] and [%s] are in keepalived group %s but differ in their '
                                  'keepalived settings' % (first['name'], svc['name'], name))
        groups[name].append(svc)
    result = {'groups': [], 'virtual_servers': []}
    for kind, item in order:
        if kind == 'service':
            svc = item
            endpoint = 'fwmark %d' % svc['fwmark'] if 'fwmark' in svc else _endpoint_words(svc['address'], svc['port'])
            names = [svc['name']]
        else:
            members = groups[item]
            svc = members[0]
            entries = []
            for one in members:
                if 'fwmark' in one:
                    entries.append('fwmark %d' % one['fwmark'])
                else:
                    entries.append(_endpoint_words(one['address'], one['port']))
            result['groups'].append({'name': item, 'entries': entries})
            endpoint = 'group %s' % item
            names = [one['name'] for one in members]
        result['virtual_servers'].append({'name': svc['name'], 'services': names, 'endpoint': endpoint,
                                          'options': _virtual_server_options(svc), 'real_servers': _real_servers(svc)})
    return result


def keepalived_vips(expanded, names):
    """The VIPs of the named services (a VRRP instance's ``services``), in order, each once."""
    by_name = {svc['name']: svc for svc in expanded}
    vips = []
    for name in names or []:
        if name not in by_name:
            raise EstateError('keepalived: a VRRP instance lists service %r, which is not in lvs_virtual_services' % name)
        svc = by_name[name]
        if 'address' not in svc:
            raise EstateError('keepalived: a VRRP instance lists service %r, a firewall-mark service: it has no VIP of '
                              'its own; list its addresses in the instance\'s vips' % name)
        if svc['state'] == 'present' and svc['address'] not in vips:
            vips.append(svc['address'])
    return vips
