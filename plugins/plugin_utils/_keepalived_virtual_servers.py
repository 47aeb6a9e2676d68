# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived's virtual_server and virtual_server_group blocks for the services keepalived owns, from the
expanded estate, with each real server's checker from the service's health_check.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.lvs.cluster.plugins.plugin_utils import _director_plan, _ipvs_rules, _values
from ansible_collections.lvs.cluster.plugins.plugin_utils._values import PlanError

KEEPALIVED_METHOD = {'dr': 'DR', 'nat': 'NAT', 'tun': 'TUN'}
# keepalived has no MySQL checker of its own: a mysql check is a TCP connect there.
KEEPALIVED_CHECKER = {'tcp': 'TCP_CHECK', 'mysql': 'TCP_CHECK', 'http': 'HTTP_GET', 'https': 'SSL_GET',
                      'udp': 'UDP_CHECK', 'ping': 'PING_CHECK', 'dns': 'DNS_CHECK', 'script': 'MISC_CHECK'}
# What must be the same for services that keepalived serves as one virtual_server group.
GROUP_SHARED = ('mode', 'scheduler', 'persistence_timeout', 'persistence_netmask', 'persistence_engine', 'one_packet',
                'sh_fallback', 'sh_port', 'mh_fallback', 'mh_port', 'realservers', 'family', 'health_check',
                'tunnel_type', 'tunnel_port')


def _endpoint_words(address, port):
    return '%s %s' % (address, port) if port else address


def _netmask(prefix, family):
    """persistence_netmask (a prefix length, as normalize_service leaves it) as keepalived's
    persistence_granularity: a dotted mask for IPv4, the prefix for IPv6."""
    if family == 'ipv6':
        return str(prefix)
    return str(ipaddress.ip_network('0.0.0.0/%d' % prefix).netmask)


def _checker(svc, member):
    """The checker block of one real server, from the service's health_check; None for type none."""
    check = svc['health_check']
    kind = check['type']
    if kind == 'none':
        return None
    where = 'lvs_virtual_services[%s].health_check' % svc['name']
    port = check.get('port') or member['port']
    if kind not in ('script', 'ping') and not port:
        raise PlanError('%s.port is required: the real servers of %s have no port of their own (a firewall-mark '
                        'service), so the checker must be told where to connect' % (where, svc['name']))
    options = []
    urls = []
    if kind == 'script':
        command = check['script'].replace('{address}', member['address']).replace('{port}', str(member['port']))
        command = command.replace('{host}', member['host'])
        options.append(['misc_path', _values.quote(command)])
        options.append(['misc_timeout', check['timeout']])
        if 'user' in check:
            options.append(['user', check['user']])
    elif kind == 'ping':
        # an ICMP echo to the real server's address: no port
        options.append(['connect_timeout', check['timeout']])
    else:
        if check.get('port') and check['port'] != member['port']:
            options.append(['connect_port', check['port']])
        elif not member['port']:
            options.append(['connect_port', port])
        options.append(['connect_timeout', check['timeout']])
    options.append(['retry', check['retries']])
    options.append(['delay_before_retry', check['retry_delay']])
    if kind == 'dns':
        options.extend([['type', check['dns_type']], ['name', check['dns_name']]])
    if kind in ('http', 'https'):
        url = [['path', _values.quote(check['path'])]]
        if 'digest' in check:
            url.append(['digest', check['digest']])
        if check.get('status'):
            url.append(['status_code', ' '.join(str(code) for code in check['status'])])
        if 'host' in check:
            url.append(['virtualhost', _values.quote(check['host'])])
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
            method += ' port %s' % svc['tunnel_port']
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
            options.append([key, _values.quote(settings[key])])
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
    # Only a script check differs by more than the port between real servers: one checker per port serves the
    # rest (a thousand real servers share a handful).
    checkers = {}
    per_port = svc['health_check']['type'] != 'script'
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
        port = _kernel_port(svc, member['port'])
        if per_port:
            if member['port'] not in checkers:
                checkers[member['port']] = _checker(svc, member)
            checker = checkers[member['port']]
        else:
            checker = _checker(svc, member)
        servers.append({'host': member['host'], 'endpoint': _endpoint_words(member['address'], port),
                        'options': options, 'checker': checker})
    where = 'lvs_virtual_services[%s]' % svc['name']
    if not servers:
        raise PlanError('%s is owned by keepalived but has no real server (group %s is empty or every member is '
                        'absent); keepalived refuses a virtual_server without real servers: set the service\'s state '
                        'to absent' % (where, svc['realservers']))
    quorum = svc['keepalived'].get('quorum', 1)
    if total < quorum:
        raise PlanError('%s: the weights of its real servers add up to %d, less than its quorum %d (every one drained or '
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
                    raise PlanError('lvs_virtual_services[%s] and [%s] are in keepalived group %s but differ in %s; the '
                                    'services of one virtual_server_group share one virtual_server'
                                    % (first['name'], svc['name'], name, key))
            if ('protocol' in first) != ('protocol' in svc) or first.get('protocol') != svc.get('protocol'):
                raise PlanError('lvs_virtual_services[%s] and [%s] are in keepalived group %s but differ in protocol'
                                % (first['name'], svc['name'], name))
            if [(m['address'], m['port']) for m in first['members']] != [(m['address'], m['port']) for m in svc['members']]:
                raise PlanError('lvs_virtual_services[%s] and [%s] are in keepalived group %s but their real servers '
                                'listen on different ports' % (first['name'], svc['name'], name))
            if dict(first['keepalived'], group=None) != dict(svc['keepalived'], group=None):
                raise PlanError('lvs_virtual_services[%s] and [%s] are in keepalived group %s but differ in their '
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


def _kernel_port(svc, port):
    """The port keepalived gives a real server: none on a firewall-mark service (its config test refuses one)."""
    return 0 if 'fwmark' in svc else port


def leaving_drained(virtual_servers, expanded, kernel_services):
    """The drain of the real servers that leave keepalived's services: keepalived's virtual servers with each
    leaving real server kept at weight 0, and what to wait for.

    A real server leaves a service when the kernel holds it (``kernel_services``, as lvs.cluster.ipvs_info returns
    them) and the estate no longer lists it. keepalived removes such a server at its reload, cutting its
    connections; so for a service with a drain_timeout the role first applies these virtual servers (the leaving
    ones at weight 0, with their checker), waits for their flows to end, and only then the final file.

    Returns ``{'virtual_servers': [...], 'drains': [{name, address/port/protocol or fwmark/family, servers,
    drain_timeout}]}``; no drains when nothing leaves.
    """
    by_name = dict((svc['name'], svc) for svc in expanded
                   if svc['owner'] == 'keepalived' and svc['state'] == 'present')
    drains, result = [], []
    for vs in virtual_servers:
        endpoints = set(rs['endpoint'] for rs in vs['real_servers'])
        added = []
        for name in vs['services']:
            svc = by_name[name]
            if not svc['drain_timeout']:
                continue
            leaving = _director_plan.leaving_servers(svc, kernel_services, by_address='fwmark' in svc)
            if not leaving:
                continue
            drains.append(dict(_ipvs_rules.service_ident(svc), name=name, servers=leaving, drain_timeout=svc['drain_timeout']))
            for server in leaving:
                endpoint = _endpoint_words(server['address'], _kernel_port(svc, server['port']))
                if endpoint in endpoints:
                    continue
                endpoints.add(endpoint)
                member = {'address': server['address'], 'port': server['port'], 'host': server['address']}
                added.append({'host': server['address'], 'endpoint': endpoint, 'options': [['weight', 0]],
                              'checker': _checker(svc, member), 'leaving': True})
        result.append(dict(vs, real_servers=vs['real_servers'] + added) if added else vs)
    return {'virtual_servers': result, 'drains': drains}


def keepalived_vips(expanded, names):
    """The VIPs of the named services (a VRRP instance's ``services``), in order, each once."""
    by_name = {svc['name']: svc for svc in expanded}
    vips = []
    for name in names or []:
        if name not in by_name:
            raise PlanError('keepalived: a VRRP instance lists service %r, which is not in lvs_virtual_services' % name)
        svc = by_name[name]
        if 'address' not in svc:
            raise PlanError('keepalived: a VRRP instance lists service %r, a firewall-mark service: it has no VIP of '
                            'its own; list its addresses in the instance\'s vips' % name)
        if svc['state'] == 'present' and svc['address'] not in vips:
            vips.append(svc['address'])
    return vips
