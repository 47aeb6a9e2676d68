# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A service's health_check: one description that every balancing role (keepalived, haproxy, nginx)
maps to its own checker, checked and completed with its defaults.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.lvs.cluster.plugins.plugin_utils import _values
from ansible_collections.lvs.cluster.plugins.plugin_utils._values import PlanError

HEALTH_CHECK_KEYS = ('type', 'port', 'path', 'status', 'digest', 'host', 'script', 'user', 'dns_name', 'dns_type',
                     'interval', 'timeout', 'retries', 'retry_delay')
HEALTH_CHECK_TYPES = ('tcp', 'http', 'https', 'mysql', 'udp', 'ping', 'dns', 'script', 'none')
# Checks only keepalived runs (UDP_CHECK, PING_CHECK, DNS_CHECK): haproxy and nginx have no such checker.
KEEPALIVED_ONLY_TYPES = ('udp', 'ping', 'dns', 'script')
# The query types keepalived's DNS_CHECK knows (it falls back to SOA, with only a log line, on any other).
DNS_TYPES = ('A', 'AAAA', 'CNAME', 'MX', 'NS', 'SOA', 'TXT')
# A DNS name as keepalived puts it in its query: labels of letters, digits, "-" and "_", dot-separated, or ".".
DNS_NAME_RE = re.compile(r'^(\.|([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?)$')
HEALTH_CHECK_DEFAULTS = {'interval': 6, 'timeout': 3, 'retries': 1, 'retry_delay': 1}


def normalize_health_check(svc, given, where):
    """The health check of a service (or of a route of it, in where), complete."""
    where = where + '.health_check'
    check = dict(HEALTH_CHECK_DEFAULTS)
    # A TCP service is checked by connecting to it unless told otherwise; UDP and SCTP have no default check.
    check['type'] = 'tcp' if svc.get('protocol', 'tcp') == 'tcp' and 'fwmark' not in svc else 'none'
    check.update(_values.mapping({} if given is None else given, where, HEALTH_CHECK_KEYS))
    kind = _values.choice(check['type'], where + '.type', HEALTH_CHECK_TYPES)
    for key, low, high in (('interval', 1, 86400), ('timeout', 1, 3600), ('retries', 0, 100), ('retry_delay', 0, 3600),
                           ('port', 1, 65535)):
        if key in check:
            check[key] = _values.integer(check[key], '%s.%s' % (where, key), low, high)
    if kind in ('tcp', 'http', 'https', 'mysql') and svc.get('protocol', 'tcp') != 'tcp' and 'fwmark' not in svc:
        raise PlanError('%s.type is %s but the service is %s: use type script (or none)' % (where, kind, svc['protocol']))
    if kind == 'udp' and svc.get('protocol', 'tcp') != 'udp' and 'fwmark' not in svc:
        raise PlanError('%s.type is udp but the service is %s: a udp check sends a datagram to a udp port'
                        % (where, svc.get('protocol', 'tcp')))
    if kind == 'ping' and 'port' in check:
        raise PlanError('%s.port: a ping check has no port' % where)
    if kind == 'dns':
        _dns_query(check, where)
    elif 'dns_name' in check or 'dns_type' in check:
        raise PlanError('%s.dns_name and dns_type are only for type dns' % where)
    for key in ('path', 'status', 'digest', 'host'):
        if key in check and kind not in ('http', 'https'):
            raise PlanError('%s.%s is only for type http or https' % (where, key))
    if kind in ('http', 'https'):
        check['path'] = _values.text(check.get('path', '/'), where + '.path')
        if not check['path'].startswith('/'):
            raise PlanError('%s.path must start with "/", not %r' % (where, check['path']))
        if 'digest' in check:
            if not isinstance(check['digest'], str) or not re.match(r'^[0-9a-f]{32}$', check['digest']):
                raise PlanError('%s.digest must be the MD5 of the page as 32 lower-case hex digits '
                                '(genhash prints it), not %r' % (where, check['digest']))
        if 'status' in check or 'digest' not in check:
            status = check.get('status', [200])
            status = status if isinstance(status, list) else [status]
            check['status'] = [_values.integer(code, where + '.status', 100, 599) for code in status]
            if not check['status']:
                raise PlanError('%s.status must list at least one HTTP status code' % where)
        if 'host' in check:
            _values.text(check['host'], where + '.host')
    if kind == 'script':
        if 'script' not in check:
            raise PlanError('%s.script is required for type script: the command that checks one real server '
                            '({address} and {port} are replaced by the real server\'s)' % where)
        _values.text(check['script'], where + '.script')
    elif 'script' in check or ('user' in check and kind != 'mysql'):
        raise PlanError('%s.script and user are only for type script (user also for mysql)' % where)
    if 'user' in check:
        _values.text(check['user'], where + '.user')
    return check


def _dns_query(check, where):
    """The query of a dns check, as keepalived's DNS_CHECK sends it over UDP: a server is up when it answers
    with no error (rcode 0), so the name must be one every real server answers for itself (keepalived's default,
    the SOA of ".", needs a server that answers for the root)."""
    check['dns_type'] = _values.choice(str(check.get('dns_type', 'SOA')).upper(), where + '.dns_type', DNS_TYPES)
    name = check.get('dns_name', '.')
    if not isinstance(name, str) or len(name) > 253 or not DNS_NAME_RE.match(name):
        raise PlanError('%s.dns_name must be a DNS name (labels of letters, digits, "-" and "_", dot-separated), '
                        'not %r' % (where, name))
    check['dns_name'] = name


def normalize_proxy_health_check(svc, given, where):
    """The health check of a proxy service (or one of its routes): what haproxy or nginx can check."""
    check = normalize_health_check(svc, given, where)
    kind = check['type']
    if kind in KEEPALIVED_ONLY_TYPES:
        raise PlanError('%s.health_check.type %s is keepalived\'s; %s checks with tcp, http, https, mysql or none'
                        % (where, kind, svc['owner']))
    if kind == 'mysql' and (svc['owner'] != 'haproxy' or svc['proxy_mode'] != 'tcp'):
        raise PlanError('%s.health_check.type mysql is haproxy\'s check of a tcp service (proxy_mode tcp)' % where)
    if kind == 'https' and svc['owner'] == 'haproxy' and svc['proxy_mode'] == 'tcp':
        raise PlanError('%s.health_check.type https is for an http service' % where)
    return check
