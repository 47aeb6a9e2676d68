# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IPVS modules' options: validation into canonical service and server dicts, and the argument specs.

Every check names the option it refuses (services[3].servers[0].port), before anything changes.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_values import (
    DEFAULT_FORWARDING, DEFAULT_SCHEDULER, FAMILIES, MAX_FWMARK, MAX_THRESHOLD, MAX_TIMEOUT, MAX_WEIGHT,
    PERSISTENCE_ENGINES, PROTOCOLS, SCHEDULER_FLAG_OPTIONS, SCHEDULER_FLAGS, SCHEDULERS, SETTABLE_FORWARDING,
    TUNNEL_CHECKSUMS, TUNNEL_TYPES, IpvsOptionError, check_int, describe_server, describe_service,
    normalize_address, normalize_netmask, server_key)


def service_identity_from_params(params, required=True):
    """Validate protocol/address/port/fwmark/family; return the identity part of a service dict.

    Returns None when nothing identifies a service and required is False (ipvs_info without filter).
    """
    address = params.get('address')
    fwmark = params.get('fwmark')
    family = params.get('family')
    protocol = params.get('protocol')
    port = params.get('port')
    if family is not None and family not in FAMILIES:
        raise IpvsOptionError('family', '%r is not one of %s' % (family, ', '.join(sorted(FAMILIES))))
    if protocol is not None and protocol not in PROTOCOLS:
        raise IpvsOptionError('protocol', '%r is not one of %s' % (protocol, ', '.join(sorted(PROTOCOLS))))
    if address is None and fwmark is None:
        for name in ('protocol', 'port'):
            if params.get(name) is not None:
                raise IpvsOptionError(name, 'given without address; a service is identified by protocol+address+port or by fwmark')
        if required:
            raise IpvsOptionError('address', 'one of address (with port) or fwmark is required to identify the service')
        if family is not None:
            raise IpvsOptionError('family', 'given without fwmark; only a firewall-mark service takes a family')
        return None
    if address is not None and fwmark is not None:
        raise IpvsOptionError('fwmark', 'address and fwmark are mutually exclusive: a service is one or the other')
    if fwmark is not None:
        for name in ('protocol', 'port'):
            if params.get(name) is not None:
                raise IpvsOptionError(name, 'a firewall-mark service has no %s; remove it or use address' % name)
        mark = check_int('fwmark', fwmark, 1, MAX_FWMARK)
        return {'family': family or 'ipv4', 'protocol': None, 'address': None, 'port': None, 'fwmark': mark}
    addr_family, address = normalize_address('address', address)
    if family is not None and family != addr_family:
        raise IpvsOptionError('family', 'is %s but address %s is %s' % (family, address, addr_family))
    if port is None:
        raise IpvsOptionError('port', 'is required with address (0 means all ports, for persistent services only)')
    port = check_int('port', port, 0, 65535)
    return {'family': addr_family, 'protocol': protocol or 'tcp', 'address': address, 'port': port, 'fwmark': None}


def service_from_params(params):
    """Validate the ipvs_service options; return the desired service dict (identity and settings)."""
    service = service_identity_from_params(params)
    scheduler = params.get('scheduler') or DEFAULT_SCHEDULER
    if scheduler not in SCHEDULERS:
        raise IpvsOptionError('scheduler', '%r is not one of %s' % (scheduler, ', '.join(SCHEDULERS)))
    service['scheduler'] = scheduler
    timeout = params.get('persistence_timeout')
    netmask = params.get('persistence_netmask')
    engine = params.get('persistence_engine')
    if timeout is not None:
        timeout = check_int('persistence_timeout', timeout, 1, MAX_TIMEOUT)
    if netmask is not None:
        if timeout is None:
            raise IpvsOptionError('persistence_netmask', 'needs persistence_timeout: only persistent services group clients by netmask')
        netmask = normalize_netmask('persistence_netmask', service['family'], netmask)
    elif timeout is not None:
        netmask = 128 if service['family'] == 'ipv6' else 32
    if engine is not None:
        if engine not in PERSISTENCE_ENGINES:
            raise IpvsOptionError('persistence_engine', '%r is not one of %s' % (engine, ', '.join(PERSISTENCE_ENGINES)))
        if timeout is None:
            raise IpvsOptionError('persistence_engine', 'needs persistence_timeout: a persistence engine works on persistent services')
        if service['protocol'] in ('tcp', 'sctp'):
            # ip_vs_pe_sip parses SIP over UDP only: the kernel accepts it on TCP, then drops every packet it cannot parse.
            raise IpvsOptionError('persistence_engine', 'sip works on UDP (or firewall-mark) services only, not %s' % service['protocol'])
    if service['port'] == 0 and timeout is None:
        raise IpvsOptionError('port', '0 (all ports) is only valid for persistent services; set persistence_timeout')
    service['persistence_timeout'] = timeout
    service['persistence_netmask'] = netmask
    service['persistence_engine'] = engine
    service['one_packet'] = bool(params.get('one_packet'))
    if service['one_packet'] and service['protocol'] not in (None, 'udp'):
        raise IpvsOptionError('one_packet', 'one-packet scheduling is for UDP (or firewall-mark) services, not %s' % service['protocol'])
    allowed = [name for name, _bit in SCHEDULER_FLAGS.get(scheduler, ())]
    for name in SCHEDULER_FLAG_OPTIONS:
        value = bool(params.get(name))
        if value and name not in allowed:
            raise IpvsOptionError(name, 'only applies to scheduler %s, not %s' % (name.partition('_')[0], scheduler))
        service[name] = value
    service['other_flags'] = 0
    return service


def server_from_entry(entry, service, index, state='present', option='servers'):
    """Validate one servers[] entry against its service; return the desired server dict."""
    where = '%s[%d]' % (option, index)
    if not isinstance(entry, dict):
        raise IpvsOptionError(where, 'must be a dict with at least address, got %r' % (entry,))
    family, address = normalize_address(where + '.address', entry.get('address'))
    if family != service['family']:
        raise IpvsOptionError(where + '.address', '%s is %s but the service %s is %s; the address families must match'
                              % (address, family, describe_service(service), service['family']))
    service_port = service['port'] or 0
    port = entry.get('port')
    port = service_port if port is None else check_int(where + '.port', port, 0, 65535)
    server = {'address': address, 'port': port}
    if state == 'absent':
        return server
    forwarding = entry.get('forwarding') or DEFAULT_FORWARDING
    if forwarding not in SETTABLE_FORWARDING:
        raise IpvsOptionError(where + '.forwarding', '%r is not one of %s' % (forwarding, ', '.join(SETTABLE_FORWARDING)))
    if forwarding in ('dr', 'tun') and port != service_port:
        raise IpvsOptionError(where + '.port', '%d differs from the service port %d, but %s forwarding cannot map ports; '
                              'use forwarding nat or port %d' % (port, service_port, forwarding, service_port))
    if forwarding == 'nat' and port == 0 and service_port != 0:
        raise IpvsOptionError(where + '.port', '0 is only valid when the service port is 0 too')
    weight = entry.get('weight')
    weight = 1 if weight is None else check_int(where + '.weight', weight, 0, MAX_WEIGHT)
    upper = entry.get('upper_threshold')
    upper = 0 if upper is None else check_int(where + '.upper_threshold', upper, 0, MAX_THRESHOLD)
    lower = entry.get('lower_threshold')
    lower = 0 if lower is None else check_int(where + '.lower_threshold', lower, 0, MAX_THRESHOLD)
    if lower and not upper:
        raise IpvsOptionError(where + '.lower_threshold', 'needs upper_threshold: it is the level at which an overloaded server comes back')
    if lower > upper:
        raise IpvsOptionError(where + '.lower_threshold', '%d is above upper_threshold %d (the kernel refuses it)' % (lower, upper))
    tunnel_type = entry.get('tunnel_type')
    tunnel_port = entry.get('tunnel_port')
    tunnel_checksum = entry.get('tunnel_checksum')
    if forwarding != 'tun':
        for name, value in (('tunnel_type', tunnel_type), ('tunnel_port', tunnel_port), ('tunnel_checksum', tunnel_checksum)):
            if value is not None:
                raise IpvsOptionError('%s.%s' % (where, name), 'only applies to forwarding tun, not %s' % forwarding)
    else:
        tunnel_type = tunnel_type or 'ipip'
        if tunnel_type not in TUNNEL_TYPES:
            raise IpvsOptionError(where + '.tunnel_type', '%r is not one of %s' % (tunnel_type, ', '.join(TUNNEL_TYPES)))
        if tunnel_type == 'gue':
            if tunnel_port is None:
                raise IpvsOptionError(where + '.tunnel_port', 'is required for tunnel_type gue (the UDP port of the GUE receiver)')
            tunnel_port = check_int(where + '.tunnel_port', tunnel_port, 1, 65535)
        elif tunnel_port is not None:
            raise IpvsOptionError(where + '.tunnel_port', 'only applies to tunnel_type gue, not %s' % tunnel_type)
        else:
            tunnel_port = 0
        tunnel_checksum = tunnel_checksum or 'nocsum'
        if tunnel_checksum not in TUNNEL_CHECKSUMS:
            raise IpvsOptionError(where + '.tunnel_checksum', '%r is not one of %s' % (tunnel_checksum, ', '.join(TUNNEL_CHECKSUMS)))
        if tunnel_type == 'ipip' and tunnel_checksum != 'nocsum':
            raise IpvsOptionError(where + '.tunnel_checksum', 'ipip has no checksum; only gue and gre take csum')
        if tunnel_checksum == 'remcsum' and tunnel_type != 'gue':
            raise IpvsOptionError(where + '.tunnel_checksum', 'remcsum (remote checksum offload) is for gue only')
    server.update({
        'forwarding': forwarding, 'weight': weight, 'upper_threshold': upper, 'lower_threshold': lower,
        'tunnel_type': tunnel_type, 'tunnel_port': tunnel_port, 'tunnel_checksum': tunnel_checksum,
    })
    return server


def servers_from_params(entries, service, state='present', option='servers'):
    if entries is None:
        return None
    if not isinstance(entries, list):
        raise IpvsOptionError(option, 'must be a list of dicts')
    servers = []
    seen = {}
    for index, entry in enumerate(entries):
        server = server_from_entry(entry, service, index, state, option)
        key = server_key(server)
        if key in seen:
            raise IpvsOptionError('%s[%d]' % (option, index), '%s is listed twice (also %s[%d])'
                                  % (describe_server(service, server), option, seen[key]))
        seen[key] = index
        servers.append(server)
    return servers


def service_identity_spec():
    """Options naming a service (documented by the lvs.cluster.ipvs doc fragment)."""
    return dict(
        protocol=dict(type='str', choices=sorted(PROTOCOLS)),
        address=dict(type='str'),
        port=dict(type='int'),
        fwmark=dict(type='int'),
        family=dict(type='str', choices=sorted(FAMILIES)),
    )


SERVICE_IDENTITY_MUTUALLY_EXCLUSIVE = [('address', 'fwmark'), ('fwmark', 'port'), ('fwmark', 'protocol')]


def servers_spec():
    """The servers option (documented by the lvs.cluster.ipvs.servers doc fragment).

    No defaults here: the model applies them, so that state absent/drained entries stay key-only.
    """
    return dict(type='list', elements='dict', options=dict(
        address=dict(type='str', required=True),
        port=dict(type='int'),
        forwarding=dict(type='str', choices=list(SETTABLE_FORWARDING)),
        weight=dict(type='int'),
        upper_threshold=dict(type='int'),
        lower_threshold=dict(type='int'),
        tunnel_type=dict(type='str', choices=list(TUNNEL_TYPES)),
        tunnel_port=dict(type='int'),
        tunnel_checksum=dict(type='str', choices=list(TUNNEL_CHECKSUMS)),
    ))
