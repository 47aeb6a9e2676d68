# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An expanded IPVS service as the modules take it, checked by their own validator, and as the
boot-time rules file (ipvsadm-save lines, rendered by the modules' own renderer).

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_options, _ipvs_values, _ipvsadm
from ansible_collections.lvs.cluster.plugins.plugin_utils._values import PlanError

SERVICE_ARGS = ('address', 'port', 'protocol', 'fwmark', 'scheduler', 'persistence_timeout', 'persistence_netmask',
                'persistence_engine', 'one_packet', 'sh_fallback', 'sh_port', 'mh_fallback', 'mh_port')
SERVER_ARGS = ('upper_threshold', 'lower_threshold', 'tunnel_type', 'tunnel_port')


def service_ident(svc):
    """How a service is named to lvs.cluster.ipvs_service and ipvs_server, and in the director's record."""
    if 'fwmark' in svc:
        return {'fwmark': svc['fwmark'], 'family': svc['family']}
    return {'address': svc['address'], 'port': svc['port'], 'protocol': svc['protocol']}


def ipvs_service_args(svc):
    """The lvs.cluster.ipvs_service arguments that converge one expanded service (and its servers)."""
    args = {'state': 'present'}
    args.update((key, svc[key]) for key in SERVICE_ARGS if key in svc)
    if 'fwmark' in svc:
        args['family'] = svc['family']
    servers = []
    for member in svc['members']:
        if member['state'] == 'absent':
            continue
        server = {'address': member['address'], 'port': member['port'], 'forwarding': member['forwarding'],
                  'weight': 0 if member['state'] == 'drained' else member['weight']}
        server.update((key, member[key]) for key in SERVER_ARGS if key in member)
        servers.append(server)
    args['servers'] = servers
    args['purge_servers'] = True
    return args


def ipvs_entries(svc):
    """The service and its real servers in the modules' own form, through the modules' validator.

    A refusal names the service, and the real server's host, with the option the module would name.
    """
    args = ipvs_service_args(svc)
    where = 'lvs_virtual_services[%s]' % svc['name']
    try:
        service = _ipvs_options.service_from_params(args)
    except _ipvs_values.IpvsOptionError as exc:
        raise PlanError('%s.%s: %s' % (where, exc.option, exc.reason))
    present = [member for member in svc['members'] if member['state'] != 'absent']
    try:
        servers = _ipvs_options.servers_from_params(args['servers'], service)
    except _ipvs_values.IpvsOptionError as exc:
        index, _dot, key = exc.option.partition('].')
        host = present[int(index.partition('[')[2])]['host']
        # the service's own settings passed the same check, so a host's overrides made it fail
        raise PlanError('host %s: lvs_overrides.%s.%s: %s (a real server of %s)'
                        % (host, svc['name'], key or exc.option, exc.reason, where))
    return service, servers


def ipvsadm_rules(expanded):
    """The present services as ipvsadm-restore lines: the table a director restores at boot, as `ipvsadm -Sn`
    prints it (the modules' own renderer)."""
    lines = []
    for svc in expanded:
        if svc['state'] != 'present':
            continue
        service, servers = ipvs_entries(svc)
        lines.extend(_ipvsadm.render_rules(service, servers).splitlines())
    return lines
