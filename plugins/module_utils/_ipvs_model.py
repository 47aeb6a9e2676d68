# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic of the IPVS modules: option validation, desired-versus-actual plans, diff text.

No pyroute2 and no kernel here, so all of it is unit-testable. Services and real servers are
plain dicts in one canonical form, used alike for the desired state, the kernel's state as read
back, and the modules' return values.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import ipaddress
import struct

# Linux values; the modules only run on Linux targets.
FAMILIES = {'ipv4': 2, 'ipv6': 10}
PROTOCOLS = {'tcp': 6, 'udp': 17, 'sctp': 132}
# include/uapi/linux/ip_vs.h: IP_VS_CONN_F_MASQ, _LOCALNODE, _TUNNEL, _DROUTE, _BYPASS.
FORWARDING = {'nat': 0, 'local': 1, 'tun': 2, 'dr': 3, 'bypass': 4}
SETTABLE_FORWARDING = ('nat', 'dr', 'tun')
TUNNEL_TYPES = {'ipip': 0, 'gue': 1, 'gre': 2}
TUNNEL_CHECKSUMS = {'nocsum': 0, 'csum': 1, 'remcsum': 2}
# Every scheduler of Linux 6.x (net/netfilter/ipvs/ip_vs_*.c).
SCHEDULERS = ('rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh', 'fo', 'ovf', 'twos')
PERSISTENCE_ENGINES = ('sip',)
STATES = ('present', 'absent')
SERVER_STATES = ('present', 'absent', 'drained')

FLAG_PERSISTENT = 0x1
FLAG_HASHED = 0x2  # kernel-internal, set on every hashed service; never compared or sent
FLAG_ONEPACKET = 0x4
FLAG_SCHED1 = 0x8
FLAG_SCHED2 = 0x10
FLAG_SCHED3 = 0x20
# The scheduler flags mean different things per scheduler (ip_vs.h: IP_VS_SVC_F_SCHED_SH_FALLBACK...).
SCHEDULER_FLAGS = {
    'sh': (('sh_fallback', FLAG_SCHED1), ('sh_port', FLAG_SCHED2)),
    'mh': (('mh_fallback', FLAG_SCHED1), ('mh_port', FLAG_SCHED2)),
}
SCHEDULER_FLAG_OPTIONS = ('sh_fallback', 'sh_port', 'mh_fallback', 'mh_port')

DEFAULT_SCHEDULER = 'wlc'  # as ipvsadm
DEFAULT_FORWARDING = 'dr'  # as ipvsadm (-g)
DEFAULT_PERSISTENCE_TIMEOUT = 300
MAX_WEIGHT = 2147483647  # the kernel keeps weights in an int and refuses negative ones (-ERANGE)
MAX_THRESHOLD = 2147483647  # compared against int connection counters in the kernel
MAX_FWMARK = 4294967295
MAX_TIMEOUT = 4294967295 // 1000  # the kernel multiplies the timeout by HZ (<= 1000) into 32 bits
UINT32_MASK = 0xffffffff

SERVICE_SETTINGS = ('scheduler', 'persistence_timeout', 'persistence_netmask', 'persistence_engine',
                    'one_packet', 'sh_fallback', 'sh_port', 'mh_fallback', 'mh_port', 'other_flags')
SERVER_SETTINGS = ('forwarding', 'weight', 'upper_threshold', 'lower_threshold',
                   'tunnel_type', 'tunnel_port', 'tunnel_checksum')


class IpvsOptionError(Exception):
    """A bad option value; the message always starts with the option's name."""

    def __init__(self, option, reason):
        self.option = option
        self.reason = reason
        super(IpvsOptionError, self).__init__('%s: %s' % (option, reason))


# --------------------------------------------------------------------------- small converters

def family_of_address(address):
    return 'ipv6' if ipaddress.ip_address(address).version == 6 else 'ipv4'


def normalise_address(option, value):
    """Return (family, canonical text) of an IP address, or raise naming the option."""
    if value is None or isinstance(value, bool) or not isinstance(value, str):
        raise IpvsOptionError(option, 'must be an IPv4 or IPv6 address as a string, got %r' % (value,))
    text = value.strip()
    if text.startswith('[') and text.endswith(']'):
        text = text[1:-1]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise IpvsOptionError(option, '%r is not an IPv4 or IPv6 address (no prefix, no port)' % (value,))
    if addr.version == 6 and addr.ipv4_mapped is not None:
        raise IpvsOptionError(option, '%s is an IPv4-mapped IPv6 address; use the IPv4 address' % addr)
    if addr.is_multicast or addr.is_unspecified:
        raise IpvsOptionError(option, '%s is a %s address and cannot be a service or server address'
                              % (addr, 'multicast' if addr.is_multicast else 'unspecified'))
    return ('ipv6' if addr.version == 6 else 'ipv4'), addr.compressed


def address_to_wire(family, address):
    """The 16 bytes of a union nf_inet_addr, as ipvsadm sends them."""
    packed = ipaddress.ip_address(address).packed
    return packed + b'\0' * (16 - len(packed))


def address_from_wire(family, data):
    if family == 'ipv6':
        return ipaddress.IPv6Address(bytes(data[:16])).compressed
    return ipaddress.IPv4Address(bytes(data[:4])).compressed


def format_endpoint(family, address, port):
    if family == 'ipv6':
        return '[%s]:%d' % (address, port)
    return '%s:%d' % (address, port)


def check_int(option, value, low, high):
    if isinstance(value, bool):
        raise IpvsOptionError(option, 'must be an integer, got %r' % (value,))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise IpvsOptionError(option, 'must be an integer, got %r' % (value,))
    if isinstance(value, float) and value != number:
        raise IpvsOptionError(option, 'must be an integer, got %r' % (value,))
    if number < low or number > high:
        raise IpvsOptionError(option, '%d is out of range: must be between %d and %d' % (number, low, high))
    return number


def normalise_netmask(option, family, value):
    """Persistence granularity as a prefix length (IPv4 also accepts a dotted contiguous mask)."""
    bits = 128 if family == 'ipv6' else 32
    if isinstance(value, bool):
        raise IpvsOptionError(option, 'must be a prefix length, got %r' % (value,))
    text = str(value).strip().lstrip('/')
    if family == 'ipv4' and '.' in text:
        try:
            mask = ipaddress.IPv4Network('0.0.0.0/%s' % text)
        except ValueError:
            raise IpvsOptionError(option, '%r is not a contiguous IPv4 netmask' % (value,))
        return mask.prefixlen
    if not text.isdigit():
        raise IpvsOptionError(option, '%r is not a prefix length%s' % (value, ' or dotted netmask' if family == 'ipv4' else ''))
    return check_int(option, int(text), 1, bits)


def netmask_to_wire(family, prefixlen):
    """IPVS_SVC_ATTR_NETMASK: an IPv4 mask in network order, or an IPv6 prefix length as a host u32 (as ipvsadm)."""
    if family == 'ipv6':
        return struct.pack('=I', prefixlen)
    return ipaddress.IPv4Network('0.0.0.0/%d' % prefixlen).netmask.packed


def netmask_from_wire(family, data):
    """Inverse of netmask_to_wire; a non-contiguous IPv4 mask (possible via ipvsadm) stays dotted text."""
    if family == 'ipv6':
        return struct.unpack('=I', bytes(data[:4]))[0]
    dotted = ipaddress.IPv4Address(bytes(data[:4])).compressed
    try:
        return ipaddress.IPv4Network('0.0.0.0/%s' % dotted).prefixlen
    except ValueError:
        return dotted


def encode_flags(service):
    """Service dict -> IPVS_SVC_ATTR_FLAGS value (HASHED excluded; the kernel sets it)."""
    flags = service.get('other_flags') or 0
    if service.get('persistence_timeout'):
        flags |= FLAG_PERSISTENT
    if service.get('one_packet'):
        flags |= FLAG_ONEPACKET
    for name, bit in SCHEDULER_FLAGS.get(service.get('scheduler'), ()):
        if service.get(name):
            flags |= bit
    return flags


def decode_flags(scheduler, flags):
    """IPVS_SVC_ATTR_FLAGS -> the dict fields; bits with no option for this scheduler land in other_flags."""
    decoded = {'persistent': bool(flags & FLAG_PERSISTENT), 'one_packet': bool(flags & FLAG_ONEPACKET)}
    for name in SCHEDULER_FLAG_OPTIONS:
        decoded[name] = False
    rest = flags & ~(FLAG_PERSISTENT | FLAG_HASHED | FLAG_ONEPACKET)
    for name, bit in SCHEDULER_FLAGS.get(scheduler, ()):
        if flags & bit:
            decoded[name] = True
            rest &= ~bit
    decoded['other_flags'] = rest & UINT32_MASK
    return decoded


def service_key(service):
    """Identity of a service inside the kernel's table."""
    if service.get('fwmark'):
        return ('fwmark', service['family'], service['fwmark'])
    return (service['protocol'], service['address'], service['port'])


def sort_key(service):
    """Stable listing order: address services by protocol, family, address, port; then fwmark services."""
    if service.get('fwmark'):
        return (1, '', service['family'], 0, service['fwmark'])
    return (0, service['protocol'], service['family'], int(ipaddress.ip_address(service['address'])), service['port'])


def server_key(server):
    return (server['address'], server['port'])


def describe_service(service):
    if service.get('fwmark'):
        return 'FWM %d%s' % (service['fwmark'], ' IPv6' if service['family'] == 'ipv6' else '')
    return '%s %s' % (service['protocol'].upper(), format_endpoint(service['family'], service['address'], service['port']))


def describe_server(service, server):
    return format_endpoint(service['family'], server['address'], server['port'])


# --------------------------------------------------------------------------- validation

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
    addr_family, address = normalise_address('address', address)
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
        netmask = normalise_netmask('persistence_netmask', service['family'], netmask)
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
    family, address = normalise_address(where + '.address', entry.get('address'))
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


# --------------------------------------------------------------------------- plans

def settings_of(record, names):
    return dict((name, record.get(name)) for name in names)


def changed_fields(desired, actual, names):
    return [name for name in names if desired.get(name) != actual.get(name)]


def _change_text(names, old, new):
    return ', '.join('%s %s -> %s' % (name, _show(old.get(name)), _show(new.get(name))) for name in names)


def _show(value):
    if value is None:
        return '-'
    if value is True:
        return 'yes'
    if value is False:
        return 'no'
    return str(value)


def plan_servers(service, desired, actual, purge=False, state='present'):
    """Operations turning the actual servers of one service into the desired ones.

    desired: server dicts (None = leave servers alone). actual: server dicts read back.
    Only servers of this one service are ever touched; purge removes unlisted ones of it.
    state 'absent' removes the listed servers; 'drained' is 'present' with weight 0.
    """
    ops = []
    if desired is None:
        return ops
    by_key = dict((server_key(server), server) for server in actual)
    listed = set()
    for server in desired:
        key = server_key(server)
        listed.add(key)
        current = by_key.get(key)
        if state == 'absent':
            if current is not None:
                ops.append({'op': 'del_server', 'service': service, 'old': current,
                            'text': 'remove server %s' % describe_server(service, current)})
            continue
        if state == 'drained':
            # Draining changes the weight only; a server that is not there has nothing to drain.
            if current is not None and current.get('weight') != 0:
                wanted = dict(current, weight=0)
                ops.append({'op': 'set_server', 'service': service, 'new': wanted, 'old': current,
                            'text': 'drain server %s: weight %s -> 0' % (describe_server(service, current), current.get('weight'))})
            continue
        wanted = dict(server)
        if current is None:
            ops.append({'op': 'add_server', 'service': service, 'new': wanted,
                        'text': 'add server %s' % describe_server(service, wanted)})
            continue
        changed = changed_fields(wanted, current, SERVER_SETTINGS)
        if changed:
            ops.append({'op': 'set_server', 'service': service, 'new': wanted, 'old': current,
                        'text': 'update server %s: %s' % (describe_server(service, wanted), _change_text(changed, current, wanted))})
    if purge and state == 'present':
        for server in actual:
            if server_key(server) not in listed:
                ops.append({'op': 'del_server', 'service': service, 'old': server,
                            'text': 'remove unlisted server %s' % describe_server(service, server)})
    # Removals first: frees kernel resources and keeps a replaced server from briefly coexisting.
    ops.sort(key=lambda op: 0 if op['op'] == 'del_server' else 1)
    return ops


def plan_service(desired, actual, state='present', desired_servers=None, actual_servers=None, purge=False):
    """Operations for ipvs_service. actual is the kernel's service dict or None."""
    actual_servers = actual_servers or []
    if state == 'absent':
        if actual is None:
            return []
        return [{'op': 'del_service', 'old': actual, 'old_servers': actual_servers,
                 'text': 'remove service %s with its %d server(s)' % (describe_service(actual), len(actual_servers))}]
    if actual is None:
        add = {'op': 'add_service', 'new': desired, 'text': 'add service %s' % describe_service(desired)}
        return [add] + plan_servers(desired, desired_servers, [], purge=purge)
    ops = plan_servers(desired, desired_servers, actual_servers, purge=purge)
    changed = changed_fields(desired, actual, SERVICE_SETTINGS)
    if changed:
        # Settings last: any order converges, and if the kernel then refuses (say, a scheduler it cannot load)
        # the server changes before it are rolled back like any other step.
        ops.append({'op': 'set_service', 'new': desired, 'old': actual,
                    'text': 'update service %s in place: %s' % (describe_service(desired), _change_text(changed, actual, desired))})
    return ops


def inverse(op):
    """The operation that undoes op (for rolling back a failed run)."""
    kind = op['op']
    if kind == 'add_service':
        return {'op': 'del_service', 'old': op['new'], 'old_servers': [], 'text': 'roll back: remove service'}
    if kind == 'set_service':
        return {'op': 'set_service', 'new': op['old'], 'old': op['new'], 'text': 'roll back: restore service settings'}
    if kind == 'del_service':
        return {'op': 'restore_service', 'new': op['old'], 'servers': op['old_servers'], 'text': 'roll back: re-create service'}
    if kind == 'add_server':
        return {'op': 'del_server', 'service': op['service'], 'old': op['new'], 'text': 'roll back: remove server'}
    if kind == 'set_server':
        return {'op': 'set_server', 'service': op['service'], 'new': op['old'], 'old': op['new'], 'text': 'roll back: restore server'}
    if kind == 'del_server':
        return {'op': 'add_server', 'service': op['service'], 'new': op['old'], 'text': 'roll back: re-add server'}
    raise ValueError('no inverse for %s' % kind)


def apply_ops(service, servers, ops):
    """Predict (service, servers) after ops; used for check mode and for the diff."""
    service = copy.deepcopy(service)
    servers = [copy.deepcopy(server) for server in servers or []]
    for op in ops:
        kind = op['op']
        if kind == 'add_service':
            service = _settings_only(op['new'])
            servers = []
        elif kind == 'set_service':
            service.update(settings_of(op['new'], SERVICE_SETTINGS))
        elif kind == 'del_service':
            service = None
            servers = []
        elif kind == 'add_server':
            servers.append(_server_settings_only(op['new']))
        elif kind == 'set_server':
            for server in servers:
                if server_key(server) == server_key(op['new']):
                    server.update(settings_of(op['new'], SERVER_SETTINGS))
        elif kind == 'del_server':
            servers = [server for server in servers if server_key(server) != server_key(op['old'])]
    return service, servers


def _settings_only(service):
    keep = ('family', 'protocol', 'address', 'port', 'fwmark') + SERVICE_SETTINGS
    return dict((name, service.get(name)) for name in keep)


def _server_settings_only(server):
    keep = ('address', 'port') + SERVER_SETTINGS
    result = dict((name, server.get(name)) for name in keep)
    result.update({'active_connections': 0, 'inactive_connections': 0, 'persistent_connections': 0})
    return result


# --------------------------------------------------------------------------- rendering

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


def service_rule(service):
    """The ipvsadm-save (-Sn) line of a service."""
    if service.get('fwmark'):
        words = ['-A', '-f', str(service['fwmark'])]
        if service['family'] == 'ipv6':
            words.append('-6')
    else:
        words = ['-A', '-' + service['protocol'][0] if service['protocol'] != 'sctp' else '--sctp-service',
                 format_endpoint(service['family'], service['address'], service['port'])]
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
    if service.get('fwmark'):
        words = ['-a', '-f', str(service['fwmark'])]
        if service['family'] == 'ipv6':
            words.append('-6')
    else:
        words = ['-a', '-' + service['protocol'][0] if service['protocol'] != 'sctp' else '--sctp-service',
                 format_endpoint(service['family'], service['address'], service['port'])]
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
    for server in sorted(servers or [], key=lambda item: (ipaddress.ip_address(item['address']), item['port'])):
        lines.append(server_rule(service, server))
    return '\n'.join(lines) + '\n'


def public_service(service, servers=None):
    """Return-value form of a service (adds its servers when given)."""
    if service is None:
        return None
    result = copy.deepcopy(service)
    result.pop('key', None)
    if servers is not None:
        result['servers'] = [copy.deepcopy(server) for server in
                             sorted(servers, key=lambda item: (ipaddress.ip_address(item['address']), item['port']))]
    return result


# --------------------------------------------------------------------------- argument specs

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
