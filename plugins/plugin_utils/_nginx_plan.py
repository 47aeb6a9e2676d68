# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the nginx_upstream role renders on one proxy host, from the estate's proxy services.

Takes the output of ``_estate.proxy_services(expanded, host, 'nginx')`` and the role's defaults, checks
each service's ``nginx`` settings, and returns render-ready upstream groups (http and stream), HTTP
server blocks with their locations, and stream server blocks. Pure: nothing here touches a host.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.lvs.cluster.plugins.plugin_utils import _proxy_service, _tls, _userlists, _values
from ansible_collections.lvs.cluster.plugins.plugin_utils._values import PlanError

# The service's nginx settings (docs/estate.md, "Proxy services"), by proxy_mode.
SETTINGS_HTTP = ('keepalive', 'max_fails', 'fail_timeout', 'connect_timeout', 'read_timeout', 'send_timeout',
                 'next_upstream', 'next_upstream_tries', 'server_name', 'extra')
SETTINGS_TCP = ('max_fails', 'fail_timeout', 'connect_timeout', 'read_timeout', 'next_upstream_tries', 'extra')
# The role's defaults the plan needs; a service's own settings win.
DEFAULT_KEYS = ('keepalive', 'connect_timeout', 'read_timeout', 'send_timeout', 'next_upstream', 'next_upstream_tries')
# nginx's proxy_next_upstream conditions (http); "off" alone turns retries off.
NEXT_UPSTREAM_WORDS = ('error', 'timeout', 'invalid_header', 'http_500', 'http_502', 'http_503', 'http_504',
                       'http_403', 'http_404', 'http_429', 'non_idempotent', 'off')
# Balancing methods with which nginx refuses a backup server.
NO_BACKUP_METHODS = ('ip_hash', 'hash', 'random')
_SERVER_NAME_RE = re.compile(r'^[A-Za-z0-9.*_-]+$')


def settings(svc, defaults):
    """One service's nginx settings, checked, with the role's defaults filled in."""
    where = 'lvs_virtual_services[%s].nginx' % svc['name']
    given = svc.get('settings') or {}
    known = SETTINGS_HTTP if svc['proxy_mode'] == 'http' else SETTINGS_TCP
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise PlanError('%s has unknown key(s) %s; a %s service knows %s'
                        % (where, ', '.join(unknown), svc['proxy_mode'], ', '.join(known)))
    out = {key: defaults[key] for key in DEFAULT_KEYS if key in defaults and key in known}
    out.update(given)
    for key in ('keepalive', 'next_upstream_tries'):
        if key in out:
            out[key] = _values.integer(out[key], '%s.%s' % (where, key), 0, 2147483647)
    for key in ('connect_timeout', 'read_timeout', 'send_timeout', 'fail_timeout'):
        if key in out:
            out[key] = _values.integer(out[key], '%s.%s (seconds)' % (where, key), 1, 86400)
    if 'max_fails' in out:
        out['max_fails'] = _values.integer(out['max_fails'], '%s.max_fails' % where, 0, 1000)
    if 'next_upstream' in out:
        words = out['next_upstream']
        if isinstance(words, str):
            words = words.split()
        if (not isinstance(words, list) or not words or any(word not in NEXT_UPSTREAM_WORDS for word in words)
                or ('off' in words and len(words) > 1)):
            raise PlanError('%s.next_upstream is %r; it must be a list of %s ("off" alone)'
                            % (where, out['next_upstream'], ', '.join(NEXT_UPSTREAM_WORDS)))
        out['next_upstream'] = words
    if 'server_name' in out and (not isinstance(out['server_name'], str)
                                 or not _SERVER_NAME_RE.match(out['server_name'])):
        raise PlanError('%s.server_name must be a host name, not %r' % (where, out['server_name']))
    out['extra'] = _values.lines(out.get('extra', []), where + '.extra')
    return out


def _endpoint(address, port):
    return '[%s]:%d' % (address, port) if ':' in address else '%s:%d' % (address, port)


def _method(balance):
    """The upstream block's balancing directive (None: nginx's default, weighted round robin)."""
    return None if balance == 'roundrobin' else balance


def passive_check(health_check, conf):
    """max_fails and fail_timeout: nginx (open source) checks passively, by counting failed requests.

    A server is out after retries + 1 failures within interval seconds, for interval seconds; a service
    with no check (type none) never takes a server out (max_fails 0). The service's settings win.
    """
    if health_check['type'] == 'none':
        max_fails, fail_timeout = 0, 10
    else:
        max_fails = health_check['retries'] + 1
        fail_timeout = max(1, int(health_check['interval']))
    return conf.get('max_fails', max_fails), conf.get('fail_timeout', fail_timeout)


def upstream(svc, pool, conf, context):
    """One upstream group: its balancing method, servers and (http) keepalive connections."""
    where = 'lvs_virtual_services[%s] pool %s' % (svc['name'], pool['name'])
    method = _method(pool['balance'])
    max_fails, fail_timeout = passive_check(pool['health_check'], conf)
    servers = []
    for member in pool['members']:
        if member['state'] == 'absent':
            continue  # an absent member is left out of the pool
        words = [_endpoint(member['address'], member['port'])]
        down = member['state'] == 'drained' or member['weight'] == 0
        if member['weight'] > 1:
            words.append('weight=%d' % member['weight'])
        words += ['max_fails=%d' % max_fails, 'fail_timeout=%ds' % fail_timeout]
        if member.get('maxconn'):
            words.append('max_conns=%d' % member['maxconn'])
        if member.get('backup'):
            if method and method.split()[0] in NO_BACKUP_METHODS:
                raise PlanError('host %s: lvs_overrides.%s.backup is true, but nginx has no backup server with '
                                'balance %s (%s)' % (member['host'], svc['name'], method, where))
            words.append('backup')
        if down:
            words.append('down')  # drained: no new requests; nginx keeps the connections it has
        servers.append(' '.join(words))
    if not servers:
        raise PlanError('%s has no real server that is not absent; nginx refuses an empty upstream: set the '
                        'service\'s state to absent instead' % where)
    out = {'name': 'lvs_%s' % pool['name'], 'pool': pool['name'], 'service': svc['name'], 'context': context,
           'method': method, 'servers': servers}
    if context == 'http':
        out['keepalive'] = conf.get('keepalive', 0)
    return out


def _locations(svc, host):
    """The locations of one HTTP server block (host None: the block with no route's host).

    Routes are tried in the estate's order and the first that matches wins: a prefix route is
    ``location ^~ PREFIX`` (nginx stops before the regexes) unless a regex route comes before it, when it is
    a plain ``location PREFIX`` that the earlier regex overrides; ``path_regex`` is ``location ~ RE``, which
    nginx tries in order. The rest goes to ``default``: the service's pool or the host route's own.
    """
    where = 'lvs_virtual_services[%s].routes' % svc['name']
    locations, default, regex_seen, prefixes = [], svc['name'], False, []
    for index, route in enumerate(svc['routes']):
        if route.get('host') not in (None, host):
            continue
        if 'path' not in route and 'path_regex' not in route:
            default = route['name']  # a host route with no path takes the whole host
            break
        if 'path_regex' in route:
            regex_seen = True
            locations.append({'match': '~ %s' % route['path_regex'], 'pool': route['name']})
            continue
        path = route['path']
        for earlier_index, earlier in prefixes:
            if path.startswith(earlier):
                raise PlanError('%s[%d].path %s is never used: routes[%d].path %s comes first and takes it'
                                % (where, index, path, earlier_index, earlier))
        prefixes.append((index, path))
        if path == '/':
            default = route['name']
            break
        locations.append({'match': ('%s' if regex_seen else '^~ %s') % path, 'pool': route['name']})
    return locations, default


def _http_servers(svc, conf):
    listen = _endpoint(svc['address'], svc['port'])
    hosts = []
    for route in svc['routes']:
        if route.get('host') and route['host'] not in hosts:
            hosts.append(route['host'])
    blocks = []
    for host in [None] + hosts:
        locations, default = _locations(svc, host)
        blocks.append({
            'service': svc['name'], 'listen': listen, 'default_server': host is None,
            'server_name': host if host else conf.get('server_name', '_'),
            'locations': locations + [{'match': '/', 'pool': default}],
        })
    return blocks


def tls_settings(defaults):
    """The protocols and ciphers of every TLS server block and TLS upstream (the role's defaults: Mozilla's
    "intermediate"), and the directory of the certificates, checked."""
    protocols = defaults.get('tls_protocols', list(_tls.TLS_VERSIONS))
    if (not isinstance(protocols, list) or not protocols or any(one not in _tls.TLS_VERSIONS for one in protocols)
            or len(set(protocols)) != len(protocols)):
        raise PlanError('nginx_upstream_tls_protocols is %r; it must list %s (older ones are broken)'
                        % (protocols, ' and/or '.join(_tls.TLS_VERSIONS)))
    ciphers = _tls.cipher_list(defaults.get('tls_ciphers'), 'nginx_upstream_tls_ciphers')
    conf_dir = defaults.get('conf_dir', '/etc/nginx').rstrip('/')
    tls_dir = defaults.get('tls_dir', conf_dir + '/lvs-cluster-tls').rstrip('/')
    if not tls_dir.startswith(conf_dir + '/'):
        # the configuration test copies nginx_upstream_conf_dir, the certificates with it
        raise PlanError('nginx_upstream_tls_dir (%s) must be under nginx_upstream_conf_dir (%s)' % (tls_dir, conf_dir))
    return {'protocols': protocols, 'ciphers': ciphers, 'dir': tls_dir}


def _tls_blocks(svc, blocks, certificates, tls_conf):
    """TLS on a service's server blocks: each serves the certificate that covers its name (nginx chooses the block,
    so the certificate, by the name the client asks for: SNI); the default block serves the first, and every
    other certificate gets a block of its own for its names. Plus the block on the plain port that redirects."""
    tls = svc['tls']
    where = 'lvs_virtual_services[%s]' % svc['name']
    used = [tls['certificates'][0]]
    for block in blocks:
        name = tls['certificates'][0]
        if not block['default_server']:
            name = next((one for one in tls['certificates'] if _tls.covers(certificates[one]['names'], block['server_name'])),
                        None)
            if name is None:
                raise PlanError('%s: the route host %s is in none of the certificates of tls.certificates (%s)'
                                % (where, block['server_name'], ', '.join(tls['certificates'])))
            used.append(name)
        block['certificate'] = name
    taken = [block['server_name'] for block in blocks]
    for name in tls['certificates']:
        names = [one for one in certificates[name]['names'] if one not in taken]
        if name in used or not names:
            continue
        taken += names
        blocks.append(dict(blocks[0], default_server=False, server_name=' '.join(names), certificate=name,
                           locations=[dict(location) for location in blocks[0]['locations']]))
    for block in blocks:
        block['listen'] += ' ssl'
        block['tls'] = ['ssl_certificate %s/%s.crt' % (tls_conf['dir'], block['certificate']),
                        'ssl_certificate_key %s/%s.key' % (tls_conf['dir'], block['certificate']),
                        'ssl_protocols %s' % ' '.join(tls_conf['protocols']),
                        'ssl_ciphers %s' % tls_conf['ciphers'],
                        'ssl_prefer_server_ciphers off',
                        'ssl_session_cache shared:lvs_tls:10m',
                        'ssl_session_timeout 1d',
                        'ssl_session_tickets off']
    redirects = []
    if 'http_redirect_port' in tls:
        target = 'https://$host%s$request_uri' % ('' if svc['port'] == 443 else ':%d' % svc['port'])
        redirects.append({'service': svc['name'], 'listen': _endpoint(svc['address'], tls['http_redirect_port']),
                          'return': '301 %s' % target})
    return redirects


def _backend_tls(svc, tls_conf):
    """TLS to the real servers: each checked against the service's CA and name."""
    tls = svc.get('tls')
    if not tls or not tls['backend']:
        return {'scheme': 'http', 'proxy_tls': []}
    return {'scheme': 'https', 'proxy_tls': [
        'proxy_ssl_verify on',
        'proxy_ssl_trusted_certificate %s/%s.crt' % (tls_conf['dir'], tls['backend_ca']),
        'proxy_ssl_name %s' % tls['backend_name'],
        'proxy_ssl_server_name on',
        'proxy_ssl_protocols %s' % ' '.join(tls_conf['protocols']),
        'proxy_ssl_session_reuse on']}


def _access(rules):
    """nginx's access lines for a service's or a route's allow and deny: the first rule that holds the client decides."""
    return ['%s %s' % (verdict, network or 'all') for verdict, network in _proxy_service.access_rules(rules)]


def _limit_req(pool, limit, result):
    """The limit_req line of a rate limit, its zone (one per pool: pool names are unique on the host) added to the
    plan for http {}. Not lvs_NAME, the upstreams' zones: nginx refuses a zone declared twice."""
    zone = 'lvs-rate-%s' % pool
    result['rate_zones'].append('limit_req_zone $binary_remote_addr zone=%s:10m rate=%dr/s'
                                % (zone, limit['requests_per_second']))
    return 'limit_req zone=%s burst=%d nodelay' % (zone, limit['burst'])


def _add_headers(headers):
    return ['add_header %s "%s" always' % (name, value) for name, value in sorted(headers.items())]


def _route_rules(svc, result):
    """Each route's own rules, by its pool's name, as lines of its locations: access (nginx applies a location's
    instead of the server's; the estate gives a route its own only where the service has none), rate limit (a
    zone of its own) and response headers (add_header in a location drops the server's, so they are repeated)."""
    rules = {}
    for route in svc['routes']:
        lines = _access(route)
        if route.get('rate_limit'):
            lines += [_limit_req(route['name'], route['rate_limit'], result), 'limit_req_status 429']
        if route.get('response_headers'):
            lines += _add_headers(dict(svc.get('response_headers', {}), **route['response_headers']))
        rules[route['name']] = lines
    return rules


def _http_rules(svc, result):
    """A server block's rate limit (its zone added to the plan, in http {}), response headers and redirects.

    The rate limit is nginx's leaky bucket per client address: requests_per_second, burst more at once, the rest
    answered 429 (nodelay: a burst is served at once, not queued). A redirect is a location of its own (^~, so
    no regex route takes its prefix)."""
    # basic_auth's user file (auth_dir/USERLIST.htpasswd) is written by the role from nginx_upstream_userlists
    rules = {'limit_req': None, 'headers': [], 'redirects': [], 'auth': svc.get('basic_auth')}
    if svc.get('rate_limit'):
        rules['limit_req'] = _limit_req(svc['name'], svc['rate_limit'], result)
    rules['headers'] = _add_headers(svc.get('response_headers', {}))
    rules['redirects'] = [{'match': '^~ %s' % redirect['path'], 'return': '%d %s' % (redirect['code'], redirect['to'])}
                          for redirect in svc.get('redirects', [])]
    return rules


def plan(services, defaults):
    """What nginx serves on one proxy host: http and stream upstreams and server blocks."""
    result = {'http_upstreams': [], 'stream_upstreams': [], 'http_servers': [], 'stream_servers': [],
              'http_redirects': [], 'rate_zones': [], 'services': [], 'families': []}
    pools_seen = {}
    # the certificates first: their names decide the server blocks; the keys stay in the role's variable
    certificate_names, ca_names = _tls.needed(services)
    certificates = _tls.check(defaults.get('certificates', {}), certificate_names, ca_names, 'nginx_upstream_certificates')
    tls_conf = tls_settings(defaults) if certificates else None
    for svc in services:
        if svc.get('state', 'present') != 'present':
            continue
        conf = settings(svc, defaults)
        context = 'http' if svc['proxy_mode'] == 'http' else 'stream'
        for pool in svc['pools']:
            name = pool['name']
            if name in pools_seen:
                raise PlanError('lvs_virtual_services[%s]: the pool name %r is also a pool of service %s; nginx needs '
                                'one name per upstream (and its zone): name the route' % (svc['name'], name, pools_seen[name]))
            pools_seen[name] = svc['name']
            result['%s_upstreams' % context].append(upstream(svc, pool, conf, context))
        common = {key: conf[key] for key in conf if key not in ('server_name',)}
        # nginx's access module: 403 in http, the connection closed in stream
        common['access'] = _access(svc)
        if context == 'http':
            common.update(_http_rules(svc, result))
            common.update(_backend_tls(svc, tls_conf))
            blocks = _http_servers(svc, conf)
            for block in blocks:
                block.update(common, tls=[])
            if svc.get('tls'):
                result['http_redirects'] += _tls_blocks(svc, blocks, certificates, tls_conf)
            route_rules = _route_rules(svc, result)
            for block in blocks:
                for location in block['locations']:
                    location['upstream'] = 'lvs_%s' % location['pool']
                    location['rules'] = route_rules.get(location['pool'], [])
                result['http_servers'].append(block)
        else:
            block = {'service': svc['name'], 'listen': _endpoint(svc['address'], svc['port']),
                     'upstream': 'lvs_%s' % svc['name'], 'proxy_protocol': svc.get('send_proxy') == 'v1'}
            block.update(common)
            result['stream_servers'].append(block)
        result['services'].append(svc['name'])
        if svc['family'] not in result['families']:
            result['families'].append(svc['family'])
    # only the names: the hashes stay in the role's variable, which the task writing the user files reads
    result['userlists'] = _userlists.check(defaults.get('userlists', {}), _userlists.needed(services),
                                           'nginx_upstream_userlists')
    result['certificates'], result['cas'] = _tls.named(certificates, certificate_names), _tls.named(certificates, ca_names)
    # the files the role writes into nginx_upstream_tls_dir, each from one part of an entry of nginx_upstream_certificates
    result['tls_files'] = [{'file': '%s.%s' % (name, extension), 'name': name, 'part': part, 'mode': mode}
                           for name in certificate_names
                           for extension, part, mode in (('crt', 'certificate', '0644'), ('key', 'key', '0600'))]
    result['tls_files'] += [{'file': '%s.crt' % name, 'name': name, 'part': 'certificate', 'mode': '0644'} for name in ca_names]
    return result
