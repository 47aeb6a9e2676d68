# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the haproxy role renders on one proxy host, from the expanded estate.

Takes the output of ``_estate.virtual_services`` (the expanded estate), the host's name and the role's
settings (``haproxy_*`` without the prefix), checks the settings of the role and of each service's
``haproxy`` mapping, and returns haproxy.cfg as sections of lines: ``global``, ``defaults``, then per
present service a ``frontend`` and one ``backend`` per pool. The lines that raw ``*_extra`` variables add
sit between two comments naming the variable (``_config_test.mark_extra``), so that a line haproxy -c
refuses is traced back to it. Controller side and pure: nothing here touches a host.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.lvs.cluster.plugins.plugin_utils import _config_test, _proxy_service, _tls, _userlists, _values
from ansible_collections.lvs.cluster.plugins.plugin_utils._values import PlanError

# A service's haproxy settings (docs/estate.md, "haproxy's own settings").
SERVICE_KEYS = ('timeout_connect', 'timeout_client', 'timeout_server', 'retries', 'redispatch', 'maxconn', 'forwardfor',
                'frontend_extra', 'backend_extra', 'server_options')
# A word of a server line: no spaces, quotes, comments or line breaks.
SERVER_WORD_RE = re.compile(r'^[A-Za-z0-9_.,:/()=+-]+$')
# haproxy's time format: a number with an optional unit (milliseconds without one).
TIME_RE = re.compile(r'^[0-9]+(us|ms|s|m|h|d)?$')
LOG_LEVELS = ('emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug')
STATS_USER_RE = re.compile(r'^[A-Za-z0-9._-]+$')


INT_MAX = 2147483647  # haproxy's integer settings are C ints
# The admin socket, and where the reload saves the running servers' states through it for the new process
# (roles/haproxy/templates/lvs-cluster-save-state.j2).
ADMIN_SOCKET = '/run/haproxy/admin.sock'
SERVER_STATE_FILE = '/var/lib/haproxy/server-state'


def time(value, where):
    """A haproxy time: a number of seconds, or a string in haproxy's format (5s, 500ms, 1m)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return '%ds' % value
    if isinstance(value, str) and TIME_RE.match(value):
        return value
    raise PlanError('%s is %r; it must be a haproxy time (5s, 500ms, 1m) or a number of seconds' % (where, value))


def service_settings(svc):
    """One service's ``haproxy`` mapping, checked (only what it gives; the role's defaults apply otherwise)."""
    where = 'lvs_virtual_services[%s].haproxy' % svc['name']
    given = svc.get('haproxy') or {}
    unknown = sorted(set(given) - set(SERVICE_KEYS))
    if unknown:
        raise PlanError('%s has unknown key(s) %s; its keys are %s' % (where, ', '.join(unknown), ', '.join(SERVICE_KEYS)))
    out = {}
    for key, value in given.items():
        here = '%s.%s' % (where, key)
        if key.startswith('timeout_'):
            out[key] = time(value, here)
        elif key == 'retries':
            out[key] = _values.integer(value, here, 0, INT_MAX)
        elif key == 'maxconn':
            out[key] = _values.integer(value, here, 1, INT_MAX)
        elif key in ('redispatch', 'forwardfor'):
            out[key] = _values.boolean(value, here)
        elif key == 'server_options':
            if not isinstance(value, list) or not all(isinstance(word, str) and SERVER_WORD_RE.match(word) for word in value):
                raise PlanError('%s must be a list of words for each server line (e.g. [check-proto, h2]), each without '
                                'spaces, quotes or "#", not %r' % (here, value))
            out[key] = list(value)
        else:
            out[key] = _values.lines(value, here)
    return out


def _endpoint(address, port):
    return '%s:%d' % (address, port)


def tls_global_lines(conf):
    """What every TLS bind and TLS server connection of the host uses: where the certificates are (bind lines
    name them relative to it) and the protocol floor and ciphers (the role's defaults: Mozilla's "intermediate")."""
    version = _values.choice(conf.get('tls_min_version', 'TLSv1.2'), 'haproxy_tls_min_version', _tls.TLS_VERSIONS)
    ciphers = {key: _tls.cipher_list(conf.get(key), 'haproxy_' + key) for key in ('tls_ciphers', 'tls_ciphersuites')}
    tls_dir = conf.get('tls_dir', '/etc/haproxy/lvs-cluster-tls')
    lines = ['crt-base %s' % tls_dir, 'ca-base %s' % tls_dir]
    for side in ('bind', 'server'):
        lines += ['ssl-default-%s-ciphers %s' % (side, ciphers['tls_ciphers']),
                  'ssl-default-%s-ciphersuites %s' % (side, ciphers['tls_ciphersuites']),
                  'ssl-default-%s-options ssl-min-ver %s no-tls-tickets' % (side, version)]
    return lines


def _global_and_defaults(conf, tls=False):
    """The global and defaults sections, from the role's settings (checked); tls: a served service has TLS."""
    if conf.get('log_level', 'info') not in LOG_LEVELS:
        raise PlanError('haproxy_log_level is %r; it must be one of %s' % (conf.get('log_level'), ', '.join(LOG_LEVELS)))
    global_lines = ['log %s %s %s' % (conf.get('log_target', '/dev/log'), conf.get('log_facility', 'local0'),
                                      conf.get('log_level', 'info')),
                    'chroot /var/lib/haproxy',
                    'stats socket %s mode 660 level admin' % ADMIN_SOCKET,
                    'stats timeout 30s',
                    # the servers' states and check counts, saved by the unit's reload (the role's drop-in): a new
                    # process starts each server at the edge of down, and its first slow check would take it out
                    'server-state-file %s' % SERVER_STATE_FILE,
                    'user haproxy',
                    'group haproxy',
                    'daemon',
                    'maxconn %d' % _values.integer(conf.get('maxconn', 4096), 'haproxy_maxconn', 1, INT_MAX)]
    if tls:
        global_lines += tls_global_lines(conf)
    global_lines += _config_test.mark_extra('haproxy_global_extra',
                                            _values.lines(conf.get('global_extra', []), 'haproxy_global_extra'))
    defaults_lines = ['log global', 'option dontlognull', 'load-server-state-from-file global']
    for key, default in (('connect', '5s'), ('client', '30s'), ('server', '30s'), ('check', '3s')):
        defaults_lines.append('timeout %s %s' % (key, time(conf.get('timeout_' + key, default), 'haproxy_timeout_' + key)))
    defaults_lines.append('retries %d' % _values.integer(conf.get('retries', 3), 'haproxy_retries', 0, INT_MAX))
    if _values.boolean(conf.get('redispatch', True), 'haproxy_redispatch'):
        defaults_lines.append('option redispatch')
    defaults_lines += _config_test.mark_extra('haproxy_defaults_extra',
                                              _values.lines(conf.get('defaults_extra', []), 'haproxy_defaults_extra'))
    return [{'header': 'global', 'lines': global_lines}, {'header': 'defaults', 'lines': defaults_lines}]


def check_stats(conf):
    """The statistics page needs a password (no default) and a user haproxy's stats auth takes as it is."""
    if not conf.get('stats_enabled'):
        return
    if not STATS_USER_RE.match(str(conf.get('stats_user', ''))):
        raise PlanError('haproxy_stats_user must be letters, digits, ".", "_" or "-"')
    password = conf.get('stats_password')
    if password is None or not str(password) or re.search("['\n]", str(password)):
        # the value itself is never part of a message
        raise PlanError('haproxy_stats_password must be set (no default; give it from a vault) when '
                        'haproxy_stats_enabled is true, without quotes (\') or new lines')


def _route_acls(route):
    """The ACLs of one route and the condition of its use_backend (every ACL must match)."""
    lines, conditions = [], []
    if 'path' in route:
        lines.append('acl %s_path path_beg %s' % (route['name'], route['path']))
        conditions.append(route['name'] + '_path')
    if 'path_regex' in route:
        lines.append('acl %s_path path_reg %s' % (route['name'], route['path_regex']))
        conditions.append(route['name'] + '_path')
    if 'host' in route:
        if route['host'].startswith('*.'):
            lines.append('acl %s_host req.hdr(host),field(1,:) -m end -i %s' % (route['name'], route['host'][1:]))
        else:
            lines.append('acl %s_host req.hdr(host),field(1,:) -m str -i %s' % (route['name'], route['host']))
        conditions.append(route['name'] + '_host')
    lines.append('use_backend %s if %s' % (route['name'], ' '.join(conditions)))
    return lines


def frontend(svc, conf):
    """The frontend of one service: its bind on the VIP, routes and default backend."""
    mode = svc['proxy_mode']
    lines = ['mode %s' % mode] + bind_lines(svc) + ['option %s' % ('httplog' if mode == 'http' else 'tcplog')]
    if mode == 'http' and conf.get('forwardfor', True):
        lines.append('option forwardfor')
    if 'maxconn' in conf:
        lines.append('maxconn %d' % conf['maxconn'])
    if 'timeout_client' in conf:
        lines.append('timeout client %s' % conf['timeout_client'])
    lines += access_lines(svc)
    lines += tls_rule_lines(svc)
    lines += http_rule_lines(svc)
    for route in svc['routes']:
        lines += _route_acls(route)
    lines += _config_test.mark_extra('lvs_virtual_services[%s].haproxy.frontend_extra' % svc['name'],
                                     conf.get('frontend_extra', []))
    lines.append('default_backend %s' % svc['name'])
    return {'comment': '--- service %s: %s on %s ---' % (svc['name'], mode, _endpoint(svc['address'], svc['port'])),
            'header': 'frontend %s' % svc['name'], 'lines': lines}


def bind_lines(svc):
    """Where the frontend listens: the VIP and port, with TLS its certificates (haproxy picks one by the name the
    client asks for, SNI, the first for any other) and HTTP/2, and the plain port that redirects to it."""
    tls = svc.get('tls')
    if not tls:
        return ['bind %s' % _endpoint(svc['address'], svc['port'])]
    crts = ' '.join('crt %s.pem' % name for name in tls['certificates'])
    lines = ['bind %s ssl %s alpn h2,http/1.1' % (_endpoint(svc['address'], svc['port']), crts)]
    if 'http_redirect_port' in tls:
        lines.append('bind %s' % _endpoint(svc['address'], tls['http_redirect_port']))
    return lines


def tls_rule_lines(svc):
    """A TLS service's first rules: plain HTTP is redirected to HTTPS (301), and the real servers learn the
    client's scheme (X-Forwarded-Proto)."""
    tls = svc.get('tls')
    if not tls:
        return []
    lines = []
    if 'http_redirect_port' in tls:
        if svc['port'] == 443:
            lines.append('http-request redirect scheme https code 301 unless { ssl_fc }')
        else:
            lines.append('http-request redirect prefix https://%%[req.hdr(host),field(1,:)]:%d code 301 unless { ssl_fc }'
                         % svc['port'])
    lines.append('http-request set-header X-Forwarded-Proto https')
    return lines


def access_lines(svc):
    """The service's allow and deny networks: an http request from a refused source gets 403, a tcp connection
    from one is closed at once (tcp-request connection reject, before haproxy reads anything)."""
    refuse = ('http-request deny deny_status 403 if %s' if svc['proxy_mode'] == 'http'
              else 'tcp-request connection reject if %s')
    lines = []
    if 'deny' in svc:
        lines.append('acl access_denied src %s' % ' '.join(svc['deny']))
    if 'allow' in svc:
        lines.append('acl access_allowed src %s' % ' '.join(svc['allow']))
    if 'deny' in svc:
        lines.append(refuse % 'access_denied')
    if 'allow' in svc:
        lines.append(refuse % '!access_allowed')
    return lines


def http_rule_lines(svc):
    """Rate limit (429 past requests_per_second + burst in the last second, per client address), basic
    authentication (401 without a user of its list), redirects and response headers of an http service, in that
    order: a client over its rate is not asked for a password, one without a password is not redirected."""
    lines = []
    limit = svc.get('rate_limit')
    if limit:
        lines += ['stick-table type %s size 100k expire 10s store http_req_rate(1s)' % ('ipv6' if svc['family'] == 'ipv6' else 'ip'),
                  'http-request track-sc0 src',
                  'http-request deny deny_status 429 if { sc_http_req_rate(0) gt %d }'
                  % (limit['requests_per_second'] + limit['burst'])]
    auth = svc.get('basic_auth')
    if auth:
        # the userlist is in the root-only file of haproxy_secrets_dir (userlists.cfg), with its hashes
        lines.append('http-request auth realm "%s" unless { http_auth(lvs_%s) }' % (auth['realm'], auth['userlist']))
    for redirect in svc.get('redirects', []):
        lines.append('http-request redirect location %s code %d if { path_beg %s }'
                     % (redirect['to'], redirect['code'], redirect['path']))
    for name, value in sorted(svc.get('response_headers', {}).items()):
        lines.append('http-response set-header %s "%s"' % (name, value))
    return lines


def check_words(check):
    """The health check's words on each server line (inter, fastinter, rise, fall; port; TLS)."""
    if check['type'] == 'none':
        return ''
    words = ' check inter %ss fastinter %ss rise %d fall %d' % (check['interval'], check['retry_delay'],
                                                                check['retries'] + 1, check['retries'] + 1)
    if 'port' in check:
        words += ' port %d' % check['port']
    if check['type'] == 'https':
        words += ' check-ssl verify none'
    return words


def _check_lines(check):
    if check['type'] in ('http', 'https'):
        send = 'http-check send meth GET uri %s' % check['path']
        if 'host' in check:
            send += ' ver HTTP/1.1 hdr Host %s' % check['host']
        lines = ['option httpchk', send]
        if len(check['status']) == 1:
            lines.append('http-check expect status %d' % check['status'][0])
        else:
            lines.append('http-check expect rstatus ^(%s)$' % '|'.join(str(code) for code in check['status']))
    elif check['type'] == 'mysql':
        lines = ['option mysql-check user %s post-41' % check['user']]
    else:
        lines = []
    if check['type'] != 'none':
        lines.append('timeout check %ss' % check['timeout'])
    return lines


def server_line(member, check, svc, options=()):
    """One server of a pool: a drained member gets weight 0 (haproxy's DRAIN: its connections go on); with a
    sticky cookie, the cookie's value for this server is its host's name; with TLS to the real servers (tls:
    the service's tls), each is checked against the CA and name the service gives, its health check too; with the
    service's send_proxy, each connection (and health check) starts with the PROXY protocol's header; then the
    service's own server_options."""
    line = 'server %s %s weight %d' % (member['host'], _endpoint(member['address'], member['port']),
                                       0 if member['state'] == 'drained' else member['weight'])
    tls = svc.get('tls')
    if svc.get('sticky_cookie'):
        line += ' cookie %s' % member['host']
    if 'maxconn' in member:
        line += ' maxconn %d' % member['maxconn']
    if member.get('backup'):
        line += ' backup'
    if svc.get('send_proxy'):
        line += ' send-proxy' if svc['send_proxy'] == 'v1' else ' send-proxy-v2'
    if options:
        line += ' ' + ' '.join(options)
    if tls and tls['backend']:
        name = tls['backend_name']
        line += ' ssl verify required ca-file %s.pem verifyhost %s sni str(%s)' % (tls['backend_ca'], name, name)
        if check['type'] != 'none':
            # the check goes over TLS too (ssl implies check-ssl) and asks for the same name
            line += ' check-sni %s' % name
        return line + check_words(dict(check, type='http') if check['type'] == 'https' else check)
    return line + check_words(check)


def backend(svc, pool, conf):
    """One backend: a pool's balance, health check, the service's settings and its servers."""
    cookie = svc.get('sticky_cookie')
    servers = [server_line(member, pool['health_check'], svc, conf.get('server_options', ())) for member in pool['members']
               if member['state'] != 'absent']
    if not servers:
        what = ('its pool' if pool['name'] == svc['name']
                else 'the pool of its route %s (group %s)' % (pool['name'], pool['realservers']))
        raise PlanError('lvs_virtual_services[%s]: %s has no real server that is not absent (inventory group %s); '
                        'haproxy would answer every request with an error: add hosts to the group, or set the '
                        'service\'s state to absent' % (svc['name'], what, pool['realservers']))
    lines = ['mode %s' % svc['proxy_mode'], 'balance %s' % pool['balance']] + _check_lines(pool['health_check'])
    lines += route_rule_lines(svc, pool)
    if cookie:
        # the first answer sets the cookie; later requests with it go to the same server while it is up
        lines.append('cookie %s insert indirect nocache' % cookie)
    if 'retries' in conf:
        lines.append('retries %d' % conf['retries'])
    if 'redispatch' in conf:
        lines.append('%soption redispatch' % ('' if conf['redispatch'] else 'no '))
    for key in ('timeout_connect', 'timeout_server'):
        if key in conf:
            lines.append('%s %s' % (key.replace('_', ' '), conf[key]))
    lines += _config_test.mark_extra('lvs_virtual_services[%s].haproxy.backend_extra' % svc['name'],
                                     conf.get('backend_extra', []))
    return {'header': 'backend %s' % pool['name'], 'lines': lines + servers}


def pools(svc):
    """The service's pools: its own (named after it, from realservers), then one per route with the route's own
    rules (the service's are the frontend's)."""
    result = []
    for one in [svc] + svc['routes']:
        pool = {'name': one['name'], 'balance': one['balance'], 'health_check': one['health_check'],
                'members': one['members'], 'realservers': one['realservers'], 'rules': {}}
        if one is not svc:
            pool['rules'] = {key: one[key] for key in _proxy_service.ROUTE_RULE_KEYS if key in one}
        result.append(pool)
    return result


def route_rule_lines(svc, pool):
    """A route's own rules, in its backend, so that they act on the requests it takes only: access (403), rate limit
    (429, the backend's own stick table) and response headers, in the frontend's order."""
    rules = dict(pool['rules'], proxy_mode=svc['proxy_mode'], family=svc['family'])
    return access_lines(rules) + http_rule_lines(rules)


def plan(expanded, host, conf):
    """haproxy.cfg on one proxy host: its sections, and the services and VIP families it serves."""
    conf = dict(conf or {})
    check_stats(conf)
    served = [svc for svc in expanded if svc['mode'] == 'proxy' and svc['owner'] == 'haproxy'
              and host in svc['proxy_hosts'] and svc['state'] == 'present']
    certificates, cas = _tls.needed(served)
    sections = _global_and_defaults(conf, tls=bool(certificates))
    result = {'sections': sections, 'services': [], 'families': [], 'server_state_file': SERVER_STATE_FILE,
              'admin_socket': ADMIN_SOCKET}
    pools_seen = {}
    for svc in served:
        settings = service_settings(svc)
        sections.append(frontend(svc, settings))
        for pool in pools(svc):
            if pool['name'] in pools_seen:
                raise PlanError('lvs_virtual_services[%s]: the pool (backend) name %r is also a pool of service %s '
                                'on %s; haproxy needs one name per backend: name the route '
                                '(lvs_virtual_services[].routes[].name)'
                                % (svc['name'], pool['name'], pools_seen[pool['name']], host))
            pools_seen[pool['name']] = svc['name']
            sections.append(backend(svc, pool, settings))
        result['services'].append(svc['name'])
        if svc['family'] not in result['families']:
            result['families'].append(svc['family'])
    # only the names: the hashes stay in the role's variable, read by the template of the root-only file
    result['userlists'] = _userlists.check(conf.get('userlists', {}), _userlists.needed(served), 'haproxy_userlists')
    # the same for the certificates: names, what they are for and when they expire; the keys stay in the variable
    checked = _tls.check(conf.get('certificates', {}), certificates, cas, 'haproxy_certificates')
    result['certificates'], result['cas'] = _tls.named(checked, certificates), _tls.named(checked, cas)
    return result
