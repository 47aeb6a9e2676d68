# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A proxy service (mode proxy: haproxy or nginx serves it on the proxy hosts), checked and completed:
its balance algorithm, its health check and its routes (requests by path or Host to pools).

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.lvs.cluster.plugins.plugin_utils import _health_check, _tls, _values
from ansible_collections.lvs.cluster.plugins.plugin_utils._values import PlanError

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
# The rules a route may have of its own, for the requests it takes (nginx: in its locations; haproxy: in its backend).
ROUTE_RULE_KEYS = ('allow', 'deny', 'rate_limit', 'response_headers')
# What a route of an http proxy service may say: which requests (path prefix, path regex, Host) go to
# which pool of real servers.
ROUTE_KEYS = ('name', 'path', 'path_regex', 'host', 'realservers', 'balance', 'health_check') + ROUTE_RULE_KEYS
# Service keys that only IPVS has (refused for proxy services), and keys only proxies have.
IPVS_ONLY_KEYS = ('scheduler', 'persistence_timeout', 'persistence_netmask', 'persistence_engine', 'one_packet',
                  'sh_fallback', 'sh_port', 'mh_fallback', 'mh_port', 'upper_threshold', 'lower_threshold',
                  'tunnel_type', 'tunnel_port', 'nat_gateway', 'fwmark', 'keepalived')
PROXY_ONLY_KEYS = ('proxies', 'proxy_mode', 'balance', 'routes', 'allow', 'deny', 'redirects', 'response_headers',
                   'rate_limit', 'sticky_cookie', 'basic_auth', 'tls', 'send_proxy')
# Keys that act on HTTP requests, for proxy_mode http only (tls: the proxies terminate it, then read the requests).
HTTP_ONLY_KEYS = ('redirects', 'response_headers', 'rate_limit', 'sticky_cookie', 'basic_auth', 'tls')
BASIC_AUTH_KEYS = ('realm', 'userlist')
USERLIST_RE = re.compile(r'^[a-z0-9][a-z0-9_-]{0,31}$')
REALM_RE = re.compile(r'^[^"\\$%{}\x00-\x1f\x7f]{1,64}$')
REDIRECT_KEYS = ('path', 'to', 'code')
REDIRECT_CODES = (301, 302, 303, 307, 308)
RATE_LIMIT_KEYS = ('requests_per_second', 'burst')
HEADER_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9-]{0,63}$')
# What neither proxy reads as its own syntax inside a quoted value: no quotes, backslashes, variables ($ for nginx,
# % for haproxy), braces or control characters.
HEADER_VALUE_RE = re.compile(r'^[^"\\$%{}\x00-\x1f\x7f]{1,1024}$')
URL_RE = re.compile(r'^(https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?)?/[^\s"\\$%{};]*$')
COOKIE_RE = re.compile(r'^[A-Za-z0-9_-]{1,64}$')
WEIGHT_MAX = {'haproxy': 256, 'nginx': 2147483647}


def _balance(value, owner, proxy_mode, where):
    choices = PROXY_BALANCE[(owner, proxy_mode)]
    if isinstance(value, str) and (value in choices
                                   or (owner == 'haproxy' and proxy_mode == 'http' and HAPROXY_HDR_RE.match(value))
                                   or (owner == 'nginx' and NGINX_HASH_RE.match(value))):
        return value
    extra = {'haproxy': ', hdr(NAME)' if proxy_mode == 'http' else '', 'nginx': ', hash KEY [consistent]'}[owner]
    raise PlanError('%s.balance is %r; %s in %s mode balances with one of %s%s'
                    % (where, value, owner, proxy_mode, ', '.join(choices), extra))


def normalize_proxy_service(svc, where):
    """A service haproxy or nginx serves on the proxy hosts (mode proxy), checked and completed."""
    owner = svc.get('owner')
    if owner not in PROXY_OWNERS:
        raise PlanError('%s: mode proxy needs owner haproxy or nginx (the proxy that serves it), not %r' % (where, owner))
    for key in IPVS_ONLY_KEYS:
        if key in svc and not (key in ('one_packet', 'sh_fallback', 'sh_port', 'mh_fallback', 'mh_port')
                               and svc[key] is False):
            raise PlanError('%s.%s is an IPVS setting; a proxy service (mode proxy) does not have it%s'
                            % (where, key, ' (balance chooses its algorithm)' if key == 'scheduler' else ''))
    other = [key for key in PROXY_OWNERS if key != owner and key in svc]
    if other:
        raise PlanError('%s.%s holds %s settings, but owner is %s' % (where, other[0], other[0], owner))
    _values.choice(svc['state'], where + '.state', ('present', 'absent'))
    if svc['protocol'] != 'tcp':
        raise PlanError('%s.protocol is %r; a proxy service is tcp' % (where, svc['protocol']))
    _values.listen(svc, where, 1, 'where the proxy listens: the VIP')
    for key in ('realservers', 'proxies'):
        if not isinstance(svc.get(key), str) or not svc[key]:
            raise PlanError('%s.%s must name the inventory group that holds its %s' % (
                where, key, 'real servers' if key == 'realservers' else 'proxy hosts (where %s runs)' % owner))
    if 'realserver_port' in svc:
        svc['realserver_port'] = _values.integer(svc['realserver_port'], where + '.realserver_port', 1, 65535)
    svc['weight'] = _values.integer(svc['weight'], where + '.weight', 0, WEIGHT_MAX[owner])
    svc['drain_timeout'] = _values.integer(svc['drain_timeout'], where + '.drain_timeout', 0, 86400)
    if svc['drain_timeout']:
        # Refused rather than ignored: the proxies have no weight-0 phase the role could wait on. Their reload is
        # their drain: the old process finishes the requests (and TCP-mode sessions) it carries, the new one no
        # longer sends to a server that left.
        raise PlanError('%s.drain_timeout is %s, but %s does not drain by a timeout: at its reload the old process '
                        'finishes the requests and TCP sessions it carries, and the new one no longer sends to a '
                        'real server that left; remove drain_timeout (it applies to IPVS services: director or '
                        'keepalived)' % (where, svc['drain_timeout'], owner))
    svc['proxy_mode'] = _values.choice(svc.get('proxy_mode', 'http'), where + '.proxy_mode', PROXY_MODES)
    svc['balance'] = _balance(svc.get('balance', 'roundrobin'), owner, svc['proxy_mode'], where)
    svc['health_check'] = _health_check.normalize_proxy_health_check(svc, svc.get('health_check'), where)
    settings = svc.get(owner, {})
    if not isinstance(settings, dict):
        raise PlanError('%s.%s must be a mapping of %s settings, not %s' % (where, owner, owner, type(settings).__name__))
    svc[owner] = settings
    svc['routes'] = _routes(svc, where)
    for key in ('allow', 'deny'):
        if key in svc:
            svc[key] = _networks(svc[key], '%s.%s' % (where, key))
    for key in HTTP_ONLY_KEYS:
        if key in svc and svc['proxy_mode'] != 'http':
            raise PlanError('%s.%s acts on HTTP requests, so it is for proxy_mode http only' % (where, key))
    if 'redirects' in svc:
        svc['redirects'] = _redirects(svc, where + '.redirects')
    if 'response_headers' in svc:
        svc['response_headers'] = _headers(svc['response_headers'], where + '.response_headers')
    if 'tls' in svc:
        svc['tls'] = _tls.normalize(svc, where + '.tls')
    if 'rate_limit' in svc:
        svc['rate_limit'] = _rate_limit(svc['rate_limit'], where + '.rate_limit')
    if 'basic_auth' in svc:
        auth = _values.mapping(svc['basic_auth'], where + '.basic_auth', BASIC_AUTH_KEYS)
        if not isinstance(auth.get('userlist'), str) or not USERLIST_RE.match(auth['userlist']):
            raise PlanError('%s.basic_auth.userlist must name a list of lvs_userlists (lower-case letters, digits, "_", '
                            '"-"), where its users and password hashes are kept out of the estate' % where)
        realm = auth.get('realm', svc['name'])
        if not isinstance(realm, str) or not REALM_RE.match(realm):
            raise PlanError('%s.basic_auth.realm must be text without quotes, "$", "%%" or braces, not %r' % (where, realm))
        svc['basic_auth'] = {'realm': realm, 'userlist': auth['userlist']}
    if 'send_proxy' in svc:
        svc['send_proxy'] = _values.choice(svc['send_proxy'], where + '.send_proxy', ('v1', 'v2'))
        if owner == 'nginx' and (svc['proxy_mode'] != 'tcp' or svc['send_proxy'] != 'v1'):
            raise PlanError('%s.send_proxy is %s in proxy_mode %s; nginx sends the PROXY protocol from its stream module '
                            'only (proxy_mode tcp), in version 1 (v1)' % (where, svc['send_proxy'], svc['proxy_mode']))
    if 'sticky_cookie' in svc:
        if owner != 'haproxy':
            raise PlanError('%s.sticky_cookie is haproxy\'s (cookie insert); nginx (open source) has no sticky cookie: '
                            'balance ip_hash or hash $cookie_NAME keeps a client on one server' % where)
        if not isinstance(svc['sticky_cookie'], str) or not COOKIE_RE.match(svc['sticky_cookie']):
            raise PlanError('%s.sticky_cookie must be a cookie name (letters, digits, "_", "-"), not %r'
                            % (where, svc['sticky_cookie']))
    return svc


def _redirects(svc, where):
    """Requests whose path starts with a prefix are answered with a redirect, before any route sees them."""
    value = svc['redirects']
    if not isinstance(value, list) or not value:
        raise PlanError('%s must be a list of {path, to, code}; leave it out rather than give it empty' % where)
    result, seen = [], set()
    for index, item in enumerate(value):
        here = '%s[%d]' % (where, index)
        item = _values.mapping(item, here, REDIRECT_KEYS)
        path, target = item.get('path'), item.get('to')
        if not isinstance(path, str) or not path.startswith('/') or re.search(r'[\s;{}"$%\\]', path):
            raise PlanError('%s.path must be a path prefix starting with "/" (no spaces, quotes, ";", "$", "%%" or '
                            'braces), not %r' % (here, path))
        if path in seen:
            raise PlanError('%s.path %s is redirected twice' % (here, path))
        seen.add(path)
        if not isinstance(target, str) or not URL_RE.match(target):
            raise PlanError('%s.to must be a URL (http:// or https://, host, path) or a path starting with "/", with no '
                            'spaces, quotes, ";", "$", "%%" or braces, not %r' % (here, target))
        code = _values.integer(item.get('code', 301), here + '.code', 300, 399)
        if code not in REDIRECT_CODES:
            raise PlanError('%s.code is %d; a redirect is one of %s' % (here, code, ', '.join(map(str, REDIRECT_CODES))))
        for route in svc['routes']:
            if route.get('path', '').startswith(path):
                raise PlanError('%s.path %s takes every request under it, so the route %s (path %s) would never be '
                                'used' % (here, path, route['name'], route['path']))
        result.append({'path': path, 'to': target, 'code': code})
    return result


def _headers(value, where):
    if not isinstance(value, dict) or not value:
        raise PlanError('%s must be a mapping of header names to values' % where)
    headers = {}
    for name in sorted(value):
        if not isinstance(name, str) or not HEADER_NAME_RE.match(name):
            raise PlanError('%s: %r is not a header name (letters, digits, "-")' % (where, name))
        text = value[name]
        if isinstance(text, bool) or not isinstance(text, (str, int)) or not HEADER_VALUE_RE.match(str(text)):
            raise PlanError('%s.%s must be text without quotes, backslashes, "$", "%%", braces or control characters, '
                            'not %r' % (where, name, text))
        headers[name] = str(text)
    return headers


def _rate_limit(value, where):
    """Requests per second per client address, with a burst above it; more are answered 429."""
    value = _values.mapping(value, where, RATE_LIMIT_KEYS)
    if 'requests_per_second' not in value:
        raise PlanError('%s.requests_per_second is required' % where)
    rate = _values.integer(value['requests_per_second'], where + '.requests_per_second', 1, 100000)
    return {'requests_per_second': rate, 'burst': _values.integer(value.get('burst', rate), where + '.burst', 0, 100000)}


def _networks(value, where):
    """Source networks of an access rule (allow or deny), as the proxies write them: ADDRESS/PREFIX."""
    if not isinstance(value, list) or not value:
        raise PlanError('%s must be a list of source networks (10.0.0.0/8, 2001:db8::/32, or one address); '
                        'leave it out rather than give it empty' % where)
    networks = []
    for index, item in enumerate(value):
        try:
            network = ipaddress.ip_network(str(item), strict=False) if not isinstance(item, bool) else None
        except ValueError:
            network = None
        if network is None:
            raise PlanError('%s[%d] is %r, not a network or an address' % (where, index, item))
        if str(network) not in networks:
            networks.append(str(network))
    return networks


def access_rules(svc):
    """The access rules of a proxy service in order: each (verdict, network), deny before allow, then
    ('deny', None) (everyone else) when allow is given. A client is refused if a deny network holds it, or if
    allow is given and no allow network holds it."""
    rules = [('deny', network) for network in svc.get('deny', [])]
    if 'allow' in svc:
        rules += [('allow', network) for network in svc['allow']] + [('deny', None)]
    return rules


def _route_rules(svc, route, where):
    """A route's own rules, checked. Its access rules and rate limit are for services that have none of that kind:
    nginx would apply the route's instead of the service's, haproxy both, so the estate allows only what both do
    alike. Its response headers add to the service's (a name in both: the route's value)."""
    for kind, keys in (('allow/deny', ('allow', 'deny')), ('rate_limit', ('rate_limit',))):
        given = [key for key in keys if key in route]
        if given and any(key in svc for key in keys):
            raise PlanError('%s.%s: the service has %s of its own; a route has its own only where the service has '
                            'none (give them to each route instead)' % (where, given[0], kind))
    for key in ('allow', 'deny'):
        if key in route:
            route[key] = _networks(route[key], '%s.%s' % (where, key))
    if 'rate_limit' in route:
        route['rate_limit'] = _rate_limit(route['rate_limit'], where + '.rate_limit')
    if 'response_headers' in route:
        route['response_headers'] = _headers(route['response_headers'], where + '.response_headers')


def _routes(svc, where):
    """An http proxy service's routes: requests matching a path prefix, a path regex or a Host go to a pool."""
    routes = svc.get('routes', [])
    if routes and svc['proxy_mode'] != 'http':
        raise PlanError('%s.routes route requests by path or Host, so they are for proxy_mode http only' % where)
    if not isinstance(routes, list):
        raise PlanError('%s.routes must be a list of routes, not %s' % (where, type(routes).__name__))
    result, names = [], {svc['name']}
    for index, route in enumerate(routes):
        here = '%s.routes[%d]' % (where, index)
        route = _values.mapping(route, here, ROUTE_KEYS)
        if not isinstance(route.get('realservers'), str) or not route['realservers']:
            raise PlanError('%s.realservers must name the inventory group of the pool this route sends to' % here)
        if not any(key in route for key in ('path', 'path_regex', 'host')):
            raise PlanError('%s says which requests it takes with path (a prefix), path_regex or host' % here)
        if 'path' in route and 'path_regex' in route:
            raise PlanError('%s has path and path_regex; give one' % here)
        if 'path' in route and (not isinstance(route['path'], str) or not route['path'].startswith('/')
                                or re.search(r'[\s;{}"]', route['path'])):
            raise PlanError('%s.path must be a path prefix starting with "/" (no spaces, quotes, ";" or braces), '
                            'not %r' % (here, route['path']))
        if 'path_regex' in route:
            _values.text(route['path_regex'], here + '.path_regex')
            if re.search(r'[\s;{}"]', route['path_regex']):
                raise PlanError('%s.path_regex must have no spaces, quotes, ";" or braces, not %r' % (here, route['path_regex']))
            try:
                re.compile(route['path_regex'])
            except re.error as exc:
                raise PlanError('%s.path_regex %r is not a regular expression: %s' % (here, route['path_regex'], exc))
        if 'host' in route and (not isinstance(route['host'], str) or not re.match(r'^[A-Za-z0-9.*-]+$', route['host'])):
            raise PlanError('%s.host must be a host name (letters, digits, ".", "-", a leading "*."), not %r'
                            % (here, route['host']))
        name = route.get('name', '%s_%s' % (svc['name'], re.sub(r'[^a-z0-9_-]', '_', route['realservers'].lower())))
        if not isinstance(name, str) or not re.match(r'^[a-z0-9][a-z0-9_-]{0,63}$', name):
            raise PlanError('%s.name must be a name like a service\'s, not %r' % (here, name))
        if name in names:
            raise PlanError('%s.name %r is used twice in the service (name the route)' % (here, name))
        names.add(name)
        route['name'] = name
        route['balance'] = _balance(route.get('balance', svc['balance']), svc['owner'], 'http', here)
        route['health_check'] = (_health_check.normalize_proxy_health_check(svc, route['health_check'], here)
                                 if 'health_check' in route else svc['health_check'])
        _route_rules(svc, route, here)
        result.append(route)
    return result
