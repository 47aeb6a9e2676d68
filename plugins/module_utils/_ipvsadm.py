# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ipvsadm's text of an IPVS table: the lines ``ipvsadm -Sn`` prints, which ``ipvsadm-restore`` reads back.

Used for the modules' diff and for the boot-time rules file. Services and servers are the canonical dicts
of _ipvs_values (SCHEDULERS lives there).

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_values import (
    FLAG_SCHED1, FLAG_SCHED2, FLAG_SCHED3, SCHEDULER_FLAG_OPTIONS, address_order, format_endpoint)


def _service_flag_words(service):
    words = []
    if service.get('one_packet'):
        words.append('ops')
    for name in SCHEDULER_FLAG_OPTIONS:
        if service.get(name):
            words.append(name.replace('_', '-'))
    other = service.get('other_flags') or 0
    for bit, word in ((FLAG_SCHED1, 'flag-1'), (FLAG_SCHED2, 'flag-2'), (FLAG_SCHED3, 'flag-3')):
        if other & bit:
            words.append(word)
    return words


def _service_words(command, service):
    """The command and the service's identity, as ipvsadm -Sn writes them: -f MARK [-6], or -t/-u/--sctp-service ADDR:PORT."""
    if service.get('fwmark'):
        words = [command, '-f', str(service['fwmark'])]
        if service['family'] == 'ipv6':
            words.append('-6')
        return words
    return [command, '-' + service['protocol'][0] if service['protocol'] != 'sctp' else '--sctp-service',
            format_endpoint(service['family'], service['address'], service['port'])]


def service_rule(service):
    """The ipvsadm-save (-Sn) line of a service."""
    words = _service_words('-A', service)
    # Same order as ipvsadm -Sn: -s, -p, -M, --pe, -o, -b.
    words.extend(['-s', service['scheduler']])
    if service.get('persistence_timeout'):
        words.extend(['-p', str(service['persistence_timeout'])])
        netmask = service.get('persistence_netmask')
        full = 128 if service['family'] == 'ipv6' else 32
        if netmask not in (None, full):
            words.extend(['-M', _netmask_text(service['family'], netmask)])
        if service.get('persistence_engine'):
            words.extend(['--pe', service['persistence_engine']])
    flag_words = _service_flag_words(service)
    if service.get('one_packet'):
        words.append('-o')
        flag_words.remove('ops')
    if flag_words:
        words.extend(['-b', ','.join(flag_words)])
    return ' '.join(words)


def _netmask_text(family, netmask):
    if family == 'ipv4' and isinstance(netmask, int):
        return ipaddress.IPv4Network('0.0.0.0/%d' % netmask).netmask.compressed
    return str(netmask)


def server_rule(service, server):
    """The ipvsadm-save (-Sn) line of a real server; unlike ipvsadm it also shows thresholds (-x, -y)."""
    words = _service_words('-a', service)
    words.extend(['-r', format_endpoint(service['family'], server['address'], server['port'])])
    words.append({'nat': '-m', 'dr': '-g', 'tun': '-i'}.get(server.get('forwarding'), '--%s' % server.get('forwarding')))
    words.extend(['-w', str(server.get('weight'))])
    if server.get('upper_threshold'):
        words.extend(['-x', str(server['upper_threshold'])])
    if server.get('lower_threshold'):
        words.extend(['-y', str(server['lower_threshold'])])
    if server.get('forwarding') == 'tun':
        words.extend(['--tun-type', server.get('tunnel_type') or 'ipip'])
        if server.get('tunnel_port'):
            words.extend(['--tun-port', str(server['tunnel_port'])])
        if server.get('tunnel_type') in ('gue', 'gre') and server.get('tunnel_checksum'):
            words.append('--tun-' + server['tunnel_checksum'])
    return ' '.join(words)


def render_rules(service, servers):
    """Readable text of one service and its servers (ipvsadm-save lines), for diff before/after."""
    if service is None:
        return ''
    lines = [service_rule(service)]
    for server in sorted(servers or [], key=address_order):
        lines.append(server_rule(service, server))
    return '\n'.join(lines) + '\n'
