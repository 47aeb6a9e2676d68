# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPVS over generic netlink: one socket per module run, faithful encode and decode, batches, rollback.

The attributes are those of include/uapi/linux/ip_vs.h, encoded as ipvsadm (libipvs) sends them:
addresses as the 16 bytes of a union nf_inet_addr whatever the family, ports in network order, an IPv4
persistence netmask as a mask in network order and an IPv6 one as a prefix length. pyroute2's IPVS layer
is not used: it read the service timeout back as 0, refused firewall-mark services and misread
destinations (pyroute2 issues #1417, #1418, #1459); why no pyroute2 at all: _ipvs_netlink.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import socket
import struct

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as nl
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_values as values
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import inverse

GENL_NAME = 'IPVS'

# include/uapi/linux/ip_vs.h, enum IPVS_CMD_*
CMD_NEW_SERVICE = 1
CMD_SET_SERVICE = 2
CMD_DEL_SERVICE = 3
CMD_GET_SERVICE = 4
CMD_NEW_DEST = 5
CMD_SET_DEST = 6
CMD_DEL_DEST = 7
CMD_GET_DEST = 8

CMD_ATTR_SERVICE = 1
CMD_ATTR_DEST = 2

# IPVS_SVC_ATTR_*
SVC_AF, SVC_PROTOCOL, SVC_ADDR, SVC_PORT, SVC_FWMARK, SVC_SCHED_NAME = 1, 2, 3, 4, 5, 6
SVC_FLAGS, SVC_TIMEOUT, SVC_NETMASK, SVC_STATS, SVC_PE_NAME, SVC_STATS64 = 7, 8, 9, 10, 11, 12
# IPVS_DEST_ATTR_*
DEST_ADDR, DEST_PORT, DEST_FWD_METHOD, DEST_WEIGHT, DEST_U_THRESH, DEST_L_THRESH = 1, 2, 3, 4, 5, 6
DEST_ACTIVE_CONNS, DEST_INACT_CONNS, DEST_PERSIST_CONNS, DEST_STATS, DEST_ADDR_FAMILY = 7, 8, 9, 10, 11
DEST_STATS64, DEST_TUN_TYPE, DEST_TUN_PORT, DEST_TUN_FLAGS = 12, 13, 14, 15

# IPVS_STATS_ATTR_* 1..10, in ipvsadm --stats / --rate column order: (counter name, rate name, 32-bit layout)
STATS_FIELDS = (
    ('connections', None, 'I'), ('incoming_packets', None, 'I'), ('outgoing_packets', None, 'I'),
    ('incoming_bytes', None, 'Q'), ('outgoing_bytes', None, 'Q'),
    (None, 'connections', 'I'), (None, 'incoming_packets', 'I'), (None, 'outgoing_packets', 'I'),
    (None, 'incoming_bytes', 'I'), (None, 'outgoing_bytes', 'I'),
)

NO_IPVS_MESSAGE = 'the kernel has no IPVS (load ip_vs): the generic netlink family "IPVS" does not exist'

U16 = struct.Struct('=H')
BE16 = struct.Struct('!H')
U32 = struct.Struct('=I')
FLAGS = struct.Struct('=II')
PROTOCOL_NAMES = dict((number, name) for name, number in values.PROTOCOLS.items())
FORWARDING_NAMES = dict((number, name) for name, number in values.FORWARDING.items())
TUNNEL_TYPE_NAMES = dict((number, name) for name, number in values.TUNNEL_TYPES.items())
TUNNEL_CHECKSUM_NAMES = dict((number, name) for name, number in values.TUNNEL_CHECKSUMS.items())
AF_IPV6 = values.FAMILIES['ipv6']


class IpvsError(Exception):
    """The kernel refused a request, or IPVS is unusable; the message says which and why."""

    def __init__(self, message, code=None):
        super(IpvsError, self).__init__(message)
        self.code = code


class IpvsApplyError(IpvsError):
    """A write failed part-way; carries what was rolled back and what could not be."""

    def __init__(self, message, done, rollback_failures):
        super(IpvsApplyError, self).__init__(message, None)
        self.done = done
        self.rollback_failures = rollback_failures


# --------------------------------------------------------------------------- encode

def service_key_attrs(service):
    """The attributes that name a service (ip_vs_genl_parse_service without full_entry), as bytes."""
    family = service['family']
    data = nl.attr_u16(SVC_AF, values.FAMILIES[family])
    if service.get('fwmark'):
        # Firewall-mark services: family and mark only, no address (pyroute2 #1459 sends one and fails).
        return data + nl.attr_u32(SVC_FWMARK, service['fwmark'])
    return (data + nl.attr_u16(SVC_PROTOCOL, values.PROTOCOLS[service['protocol']])
            + nl.attr(SVC_ADDR, values.address_to_wire(family, service['address'])) + nl.attr_be16(SVC_PORT, service['port']))


def service_full_attrs(service):
    """Key plus everything NEW/SET_SERVICE require; flags go with mask ~0 so every bit is set as given."""
    family = service['family']
    persistent = bool(service.get('persistence_timeout'))
    netmask = service.get('persistence_netmask') if persistent else None
    if netmask is None:
        netmask = 128 if family == 'ipv6' else 32  # the kernel refuses an IPv6 netmask outside 1..128
    wire_netmask = (values.netmask_to_wire(family, netmask) if isinstance(netmask, int)
                    else values.address_to_wire('ipv4', netmask)[:4])
    data = (service_key_attrs(service) + nl.attr_str(SVC_SCHED_NAME, service['scheduler'])
            + nl.attr(SVC_FLAGS, FLAGS.pack(values.encode_flags(service), values.UINT32_MASK))
            + nl.attr_u32(SVC_TIMEOUT, service.get('persistence_timeout') or 0) + nl.attr(SVC_NETMASK, wire_netmask))
    if persistent and service.get('persistence_engine'):
        # Absent PE_NAME on SET_SERVICE makes the kernel drop the engine: that is what we want then.
        data += nl.attr_str(SVC_PE_NAME, service['persistence_engine'])
    return data


def server_key_attrs(service, server):
    family = service['family']
    return (nl.attr(DEST_ADDR, values.address_to_wire(family, server['address'])) + nl.attr_be16(DEST_PORT, server['port'])
            + nl.attr_u16(DEST_ADDR_FAMILY, values.FAMILIES[family]))


def server_full_attrs(service, server):
    data = (server_key_attrs(service, server) + nl.attr_u32(DEST_FWD_METHOD, values.FORWARDING[server['forwarding']])
            + nl.attr_u32(DEST_WEIGHT, server['weight']) + nl.attr_u32(DEST_U_THRESH, server['upper_threshold'])
            + nl.attr_u32(DEST_L_THRESH, server['lower_threshold']))
    if server['forwarding'] == 'tun':
        # Only for tunnels: kernels before 5.3 know no tunnel attributes and read every tunnel as ipip.
        data += (nl.attr_u8(DEST_TUN_TYPE, values.TUNNEL_TYPES[server['tunnel_type']])
                 + nl.attr_be16(DEST_TUN_PORT, server.get('tunnel_port') or 0)
                 + nl.attr_u16(DEST_TUN_FLAGS, values.TUNNEL_CHECKSUMS[server['tunnel_checksum']]))
    return data


def service_payload(service_attrs, server_attrs=None):
    """The request payload: the service nest, and the real-server nest for the DEST commands."""
    data = nl.attr(CMD_ATTR_SERVICE, service_attrs)
    if server_attrs is not None:
        data += nl.attr(CMD_ATTR_DEST, server_attrs)
    return data


# --------------------------------------------------------------------------- decode (one pass per nest)

def _u32(buf, found, kind, default=0):
    where = found.get(kind)
    return U32.unpack_from(buf, where[0])[0] if where else default


def _address(family, buf, where):
    if family == 'ipv6':
        return values.address_from_wire(family, buf[where[0]:where[0] + 16])
    return socket.inet_ntoa(buf[where[0]:where[0] + 4])


def _text(buf, where):
    if not where:
        return None
    return buf[where[0]:where[0] + where[1]].split(b'\0', 1)[0].decode('ascii', 'replace')


def decode_stats(buf, found, plain_kind, wide_kind):
    """Counters and rates; the 64-bit set when the kernel sends it (4.x+), else the 32-bit one."""
    counters, rates = {}, {}
    wide = wide_kind in found
    where = found.get(wide_kind) or found.get(plain_kind)
    inner = nl.attrs(buf, where[0], where[0] + where[1]) if where else {}
    for kind, (counter, rate, layout) in enumerate(STATS_FIELDS, 1):
        at = inner.get(kind)
        value = struct.unpack_from('=Q' if wide else '=' + layout, buf, at[0])[0] if at else 0
        if counter:
            counters[counter] = value
        else:
            rates[rate] = value
    return counters, rates


def decode_service(buf, start, end, counters=True):
    """A service dict from the attributes of an IPVS_CMD_ATTR_SERVICE nest (buf[start:end])."""
    found = nl.attrs(buf, start, end)
    af = found.get(SVC_AF)
    family = 'ipv6' if af and U16.unpack_from(buf, af[0])[0] == AF_IPV6 else 'ipv4'
    fwmark = _u32(buf, found, SVC_FWMARK) or None
    service = {'family': family, 'fwmark': fwmark, 'protocol': None, 'address': None, 'port': None}
    if not fwmark:
        protocol = U16.unpack_from(buf, found[SVC_PROTOCOL][0])[0] if SVC_PROTOCOL in found else 0
        service['protocol'] = PROTOCOL_NAMES.get(protocol, str(protocol))
        service['address'] = _address(family, buf, found[SVC_ADDR])
        service['port'] = BE16.unpack_from(buf, found[SVC_PORT][0])[0]
    scheduler = _text(buf, found.get(SVC_SCHED_NAME))
    service['scheduler'] = scheduler
    flags = FLAGS.unpack_from(buf, found[SVC_FLAGS][0])[0] if SVC_FLAGS in found else 0
    decoded = values.decode_flags(scheduler, flags)
    if decoded['persistent']:
        netmask = found.get(SVC_NETMASK)
        service['persistence_timeout'] = _u32(buf, found, SVC_TIMEOUT)
        service['persistence_netmask'] = values.netmask_from_wire(family, buf[netmask[0]:netmask[0] + 4]) if netmask else None
        service['persistence_engine'] = _text(buf, found.get(SVC_PE_NAME)) or None
    else:
        service['persistence_timeout'] = service['persistence_netmask'] = service['persistence_engine'] = None
    service['one_packet'] = decoded['one_packet']
    for name in values.SCHEDULER_FLAG_OPTIONS:
        service[name] = decoded[name]
    service['other_flags'] = decoded['other_flags']
    service['flags'] = flags & ~values.FLAG_HASHED
    if counters:
        service['stats'], service['rates'] = decode_stats(buf, found, SVC_STATS, SVC_STATS64)
    return service


def decode_server(service, buf, start, end, counters=True):
    """A real-server dict from the attributes of an IPVS_CMD_ATTR_DEST nest (buf[start:end])."""
    found = nl.attrs(buf, start, end)
    af = found.get(DEST_ADDR_FAMILY)
    family = service['family'] if af is None else ('ipv6' if U16.unpack_from(buf, af[0])[0] == AF_IPV6 else 'ipv4')
    forwarding = FORWARDING_NAMES.get(_u32(buf, found, DEST_FWD_METHOD) & 0x7, 'unknown')
    server = {
        'family': family,
        'address': _address(family, buf, found[DEST_ADDR]),
        'port': BE16.unpack_from(buf, found[DEST_PORT][0])[0],
        'forwarding': forwarding,
        'weight': _u32(buf, found, DEST_WEIGHT),
        'upper_threshold': _u32(buf, found, DEST_U_THRESH),
        'lower_threshold': _u32(buf, found, DEST_L_THRESH),
        'tunnel_type': None,
        'tunnel_port': None,
        'tunnel_checksum': None,
        'active_connections': _u32(buf, found, DEST_ACTIVE_CONNS),
        'inactive_connections': _u32(buf, found, DEST_INACT_CONNS),
        'persistent_connections': _u32(buf, found, DEST_PERSIST_CONNS),
    }
    if forwarding == 'tun':
        kind = found.get(DEST_TUN_TYPE)
        port = found.get(DEST_TUN_PORT)
        checksum = found.get(DEST_TUN_FLAGS)
        server['tunnel_type'] = TUNNEL_TYPE_NAMES.get(buf[kind[0]] if kind else 0, 'unknown')
        server['tunnel_port'] = BE16.unpack_from(buf, port[0])[0] if port else 0
        server['tunnel_checksum'] = TUNNEL_CHECKSUM_NAMES.get(U16.unpack_from(buf, checksum[0])[0] if checksum else 0, 'unknown')
    if counters:
        server['stats'], server['rates'] = decode_stats(buf, found, DEST_STATS, DEST_STATS64)
    return server


def _nests(replies, kind):
    """(buffer, start, end) of the kind nest (CMD_ATTR_SERVICE or _DEST) of each reply message."""
    for buf, start, end in replies:
        where = nl.attrs(buf, start, end).get(kind)
        if where:
            yield buf, where[0], where[0] + where[1]


# --------------------------------------------------------------------------- the client

def _kernel_reason(code, what):
    reasons = {
        errno.EPERM: 'permission denied: IPVS needs root (CAP_NET_ADMIN in the network namespace)',
        errno.ESRCH: 'no such service or real server',
        errno.EEXIST: 'it already exists',
        errno.ENOENT: 'the kernel found no such scheduler or persistence engine (module ip_vs_<name> missing or not loadable)',
        errno.EINVAL: 'the kernel refused the values as invalid',
        errno.ERANGE: 'a value is out of the kernel\'s range',
        errno.EAFNOSUPPORT: 'the kernel does not support this address family for IPVS',
        errno.EOPNOTSUPP: 'the kernel does not support this (too old, or feature not built)',
    }
    return '%s failed: %s (errno %s)' % (what, reasons.get(code, 'the kernel answered %s' % errno.errorcode.get(code, code)), code)


def _write_reason(op, code):
    """The message of a refused write; NEW/SET_SERVICE answer ENOENT for a scheduler or engine the kernel lacks."""
    what = op.get('text') or op['op']
    if code == errno.ENOENT and op['op'] in ('add_service', 'set_service', 'restore_service'):
        service = op['new']
        suspects = ['scheduler: the kernel has no scheduler %s (module ip_vs_%s not built or not loadable; twos needs Linux 6.2+)'
                    % (service['scheduler'], service['scheduler'])]
        if service.get('persistence_engine'):
            suspects.append('or persistence_engine: no engine %s (module ip_vs_pe_%s)'
                            % (service['persistence_engine'], service['persistence_engine']))
        return '%s failed: %s' % (what, ' '.join(suspects))
    return _kernel_reason(code, what)


class IpvsClient(object):
    """One generic netlink socket bound to the IPVS family, for one module run."""

    def __init__(self):
        self.netlink = None

    def open(self):
        self.netlink = nl.GenericNetlink(GENL_NAME)
        try:
            self.netlink.open()
        except (OSError, socket.error) as error:
            self.close()
            if getattr(error, 'errno', None) == errno.ENOENT:
                raise IpvsError(NO_IPVS_MESSAGE)
            raise IpvsError(_kernel_reason(getattr(error, 'errno', None), 'opening the IPVS netlink family'))
        return self

    def close(self):
        if self.netlink is not None:
            try:
                self.netlink.close()
            finally:
                self.netlink = None

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc_info):
        self.close()

    def _dump(self, command, payload, what):
        try:
            return self.netlink.dump(self.netlink.request(command, payload, nl.NLM_F_DUMP))
        except (OSError, socket.error) as error:
            raise IpvsError(_kernel_reason(getattr(error, 'errno', None), what), getattr(error, 'errno', None))

    # reads
    def services(self, counters=True):
        """Every service of the table (one dump)."""
        replies = self._dump(CMD_GET_SERVICE, b'', 'listing IPVS services')
        return [decode_service(buf, start, end, counters) for buf, start, end in _nests(replies, CMD_ATTR_SERVICE)]

    def find_services(self, identities, counters=True):
        """The kernel's service for each identity (None where there is none): one GET each, sent in batches."""
        requests = [self.netlink.request(CMD_GET_SERVICE, service_payload(service_key_attrs(identity)))
                    for identity in identities]
        try:
            answers = self.netlink.run(requests)
        except (OSError, socket.error) as error:
            raise IpvsError(_kernel_reason(getattr(error, 'errno', None), 'reading IPVS services'), getattr(error, 'errno', None))
        found = []
        for identity, answer in zip(identities, answers):
            if isinstance(answer, nl.NetlinkError):
                if answer.errno == errno.ESRCH:
                    found.append(None)
                    continue
                raise IpvsError(_kernel_reason(answer.errno, 'reading service %s' % values.describe_service(identity)), answer.errno)
            services = [decode_service(buf, start, end, counters) for buf, start, end in _nests(answer, CMD_ATTR_SERVICE)]
            found.append(services[0] if services else None)
        return found

    def find_service(self, identity, counters=True):
        """The kernel's service with this identity, or None; one GET, so a big table costs nothing extra."""
        return self.find_services([identity], counters)[0]

    def servers(self, service, counters=True):
        """The real servers of one service (one dump: the kernel runs one dump at a time per socket)."""
        replies = self._dump(CMD_GET_DEST, service_payload(service_key_attrs(service)),
                             'listing the real servers of %s' % values.describe_service(service))
        return [decode_server(service, buf, start, end, counters) for buf, start, end in _nests(replies, CMD_ATTR_DEST)]

    # writes
    def requests_of(self, op):
        """The netlink requests (bytes, sequence) of one operation of a plan."""
        kind = op['op']
        request = self.netlink.request
        if kind in ('add_service', 'restore_service'):
            new = op['new']
            found = [request(CMD_NEW_SERVICE, service_payload(service_full_attrs(new)))]
            if kind == 'restore_service':
                key = service_key_attrs(new)
                found.extend(request(CMD_NEW_DEST, service_payload(key, server_full_attrs(new, server)))
                             for server in op['servers'])
            return found
        if kind == 'set_service':
            return [request(CMD_SET_SERVICE, service_payload(service_full_attrs(op['new'])))]
        if kind == 'del_service':
            return [request(CMD_DEL_SERVICE, service_payload(service_key_attrs(op['old'])))]
        service = op['service']
        key = op.get('service_key') or service_key_attrs(service)
        if kind == 'add_server':
            return [request(CMD_NEW_DEST, service_payload(key, server_full_attrs(service, op['new'])))]
        if kind == 'set_server':
            return [request(CMD_SET_DEST, service_payload(key, server_full_attrs(service, op['new'])))]
        if kind == 'del_server':
            return [request(CMD_DEL_DEST, service_payload(key, server_key_attrs(service, op['old'])))]
        raise ValueError('unknown IPVS operation %r' % kind)

    def run_ops(self, ops):
        """Send every op (in batches); return per op None when the kernel did all of it, else the first errno."""
        requests, owners = [], []
        keys = {}
        for index, op in enumerate(ops):
            if 'service' in op and 'service_key' not in op:
                # The service nest of a DEST command: encoded once per service, not once per real server.
                identity = values.service_key(op['service'])
                if identity not in keys:
                    keys[identity] = service_key_attrs(op['service'])
                op = dict(op, service_key=keys[identity])
            made = self.requests_of(op)
            requests.extend(made)
            owners.extend([index] * len(made))
        outcome = [None] * len(ops)
        try:
            answers = self.netlink.run(requests)
        except (OSError, socket.error) as error:
            # The socket failed (not a refusal): which requests the kernel carried out is unknown.
            raise IpvsError(_kernel_reason(getattr(error, 'errno', None), 'sending IPVS changes'), getattr(error, 'errno', None))
        for index, answer in zip(owners, answers):
            if isinstance(answer, nl.NetlinkError) and outcome[index] is None:
                outcome[index] = answer.errno
        return outcome

    def apply(self, ops):
        """Run ops in order, in batches; if the kernel refuses one, undo every one it carried out (newest first,
        from the entries as the kernel reported them before) and raise IpvsApplyError saying what could not be."""
        if not ops:
            return []
        outcome = self.run_ops(ops)
        refused = [(op, code) for op, code in zip(ops, outcome) if code is not None]
        if not refused:
            return [op['text'] for op in ops]
        # The kernel goes on with the rest of a batch after a refusal: every op it carried out is undone.
        done = [op for op, code in zip(ops, outcome) if code is None]
        error = _write_reason(*refused[0])
        if len(refused) > 1:
            error += ' (and %d more refused: %s)' % (len(refused) - 1, '; '.join(
                _write_reason(op, code) for op, code in refused[1:4]))
        failures = self.roll_back(done)
        if failures:
            message = '%s; rolling back this run FAILED for: %s' % (error, '; '.join(failures))
        elif done:
            message = '%s; the %d change(s) of this run the kernel had made were rolled back, the table is as before' % (error, len(done))
        else:
            message = '%s; nothing was changed' % error
        raise IpvsApplyError(message, [op['text'] for op in done], failures)

    def roll_back(self, done):
        """Undo done (newest first); return what could not be restored, one line each. Never raises."""
        failures = []
        undos = []
        for op in reversed(done):
            try:
                undo = inverse(op)
                self.requests_of(undo)  # an undo that cannot even be encoded is reported, not sent
                undos.append((op, undo))
            except Exception as error:  # pylint: disable=broad-except
                failures.append('%s (cannot undo it: %s %s)' % (op.get('text'), type(error).__name__, error))
        if not undos:
            return failures
        try:
            outcome = self.run_ops([undo for _op, undo in undos])
        except Exception as error:  # pylint: disable=broad-except
            return failures + ['%s (%s)' % (op.get('text'), error) for op, _undo in undos]
        for (op, _undo), code in zip(undos, outcome):
            if code is not None:
                failures.append('%s (%s)' % (op.get('text'), _kernel_reason(code, 'undoing it')))
        return failures
