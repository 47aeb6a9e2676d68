# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IPVS modules' values: Linux constants, converters between option, wire and text forms, identities.

No kernel here. Services and real servers are plain dicts in one canonical form, used alike for the
desired state, the kernel's state as read back, and the modules' return values.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import socket
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

def normalize_address(option, value):
    """Return (family, canonical text) of an IP address, or raise naming the option."""
    if value is None or isinstance(value, bool) or not isinstance(value, str):
        raise IpvsOptionError(option, 'must be an IPv4 or IPv6 address as a string, got %r' % (value,))
    text = value.strip()
    if text.startswith('['):
        # the documented form is the bare address; a bracketed one is usually a URL's host part pasted
        raise IpvsOptionError(option, '%r is in brackets; give the IPv6 address without them' % (value,))
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


def normalize_netmask(option, family, value):
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


def address_order(server):
    """Sort key of real servers: by address (numerically, within one family), then port."""
    address = server['address']
    return (socket.inet_pton(socket.AF_INET6 if ':' in address else socket.AF_INET, address), server['port'])


def describe_service(service):
    if service.get('fwmark'):
        return 'FWM %d%s' % (service['fwmark'], ' IPv6' if service['family'] == 'ipv6' else '')
    return '%s %s' % (service['protocol'].upper(), format_endpoint(service['family'], service['address'], service['port']))


def describe_server(service, server):
    return format_endpoint(service['family'], server['address'], server['port'])
