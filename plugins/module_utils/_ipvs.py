# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPVS over generic netlink: one socket per module run, faithful encode and decode, rollback.

This talks to the kernel with pyroute2's generic-netlink socket and its own message classes
instead of pyroute2's high-level ``pyroute2.ipvs.IPVS``, which (0.9.7) reads the service
timeout back as 0, refuses firewall-mark services with EINVAL, maps "update" to a DEL message
and misreads destinations, scheduler names and fwmark services (pyroute2 issues #1417, #1418,
#1459). Addresses and netmasks are carried as raw bytes and decoded here by address family,
because the kernel sends 16 bytes for every address and an IPv6 netmask is a prefix length.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_model as model

try:
    from pyroute2.netlink import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, genlmsg, nla
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netlink.generic import GenericNetlinkSocket
except ImportError:  # reported by _pyroute2.require_pyroute2 before anything here is used
    genlmsg = nla = object
    NetlinkError = OSError
    GenericNetlinkSocket = None
    NLM_F_ACK = NLM_F_DUMP = NLM_F_REQUEST = 0

GENL_NAME = 'IPVS'
GENL_VERSION = 1

# include/uapi/linux/ip_vs.h, enum IPVS_CMD_*
CMD_NEW_SERVICE = 1
CMD_SET_SERVICE = 2
CMD_DEL_SERVICE = 3
CMD_GET_SERVICE = 4
CMD_NEW_DEST = 5
CMD_SET_DEST = 6
CMD_DEL_DEST = 7
CMD_GET_DEST = 8

NO_IPVS_MESSAGE = 'the kernel has no IPVS (load ip_vs): the generic netlink family "IPVS" does not exist'

STATS_FIELDS = (
    # (attribute, counter name, rate name) in ipvsadm --stats / --rate column order
    ('IPVS_STATS_ATTR_CONNS', 'connections', None),
    ('IPVS_STATS_ATTR_INPKTS', 'incoming_packets', None),
    ('IPVS_STATS_ATTR_OUTPKTS', 'outgoing_packets', None),
    ('IPVS_STATS_ATTR_INBYTES', 'incoming_bytes', None),
    ('IPVS_STATS_ATTR_OUTBYTES', 'outgoing_bytes', None),
    ('IPVS_STATS_ATTR_CPS', None, 'connections'),
    ('IPVS_STATS_ATTR_INPPS', None, 'incoming_packets'),
    ('IPVS_STATS_ATTR_OUTPPS', None, 'outgoing_packets'),
    ('IPVS_STATS_ATTR_INBPS', None, 'incoming_bytes'),
    ('IPVS_STATS_ATTR_OUTBPS', None, 'outgoing_bytes'),
)


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


class _stats32(nla):
    nla_map = (
        ('IPVS_STATS_ATTR_UNSPEC', 'none'),
        ('IPVS_STATS_ATTR_CONNS', 'uint32'),
        ('IPVS_STATS_ATTR_INPKTS', 'uint32'),
        ('IPVS_STATS_ATTR_OUTPKTS', 'uint32'),
        ('IPVS_STATS_ATTR_INBYTES', 'uint64'),
        ('IPVS_STATS_ATTR_OUTBYTES', 'uint64'),
        ('IPVS_STATS_ATTR_CPS', 'uint32'),
        ('IPVS_STATS_ATTR_INPPS', 'uint32'),
        ('IPVS_STATS_ATTR_OUTPPS', 'uint32'),
        ('IPVS_STATS_ATTR_INBPS', 'uint32'),
        ('IPVS_STATS_ATTR_OUTBPS', 'uint32'),
        ('IPVS_STATS_ATTR_PAD', 'none'),
    )


class _stats64(nla):
    nla_map = (
        ('IPVS_STATS_ATTR_UNSPEC', 'none'),
        ('IPVS_STATS_ATTR_CONNS', 'uint64'),
        ('IPVS_STATS_ATTR_INPKTS', 'uint64'),
        ('IPVS_STATS_ATTR_OUTPKTS', 'uint64'),
        ('IPVS_STATS_ATTR_INBYTES', 'uint64'),
        ('IPVS_STATS_ATTR_OUTBYTES', 'uint64'),
        ('IPVS_STATS_ATTR_CPS', 'uint64'),
        ('IPVS_STATS_ATTR_INPPS', 'uint64'),
        ('IPVS_STATS_ATTR_OUTPPS', 'uint64'),
        ('IPVS_STATS_ATTR_INBPS', 'uint64'),
        ('IPVS_STATS_ATTR_OUTBPS', 'uint64'),
        ('IPVS_STATS_ATTR_PAD', 'none'),
    )


class IpvsMessage(genlmsg):
    """IPVS generic netlink message with every attribute of Linux 6.x, in kernel byte order."""

    prefix = 'IPVS_CMD_ATTR_'
    nla_map = (
        ('IPVS_CMD_ATTR_UNSPEC', 'none'),
        ('IPVS_CMD_ATTR_SERVICE', 'service'),
        ('IPVS_CMD_ATTR_DEST', 'dest'),
        ('IPVS_CMD_ATTR_DAEMON', 'none'),
        ('IPVS_CMD_ATTR_TIMEOUT_TCP', 'uint32'),
        ('IPVS_CMD_ATTR_TIMEOUT_TCP_FIN', 'uint32'),
        ('IPVS_CMD_ATTR_TIMEOUT_UDP', 'uint32'),
    )

    class service(nla):
        prefix = 'IPVS_SVC_ATTR_'
        nla_map = (
            ('IPVS_SVC_ATTR_UNSPEC', 'none'),
            ('IPVS_SVC_ATTR_AF', 'uint16'),
            ('IPVS_SVC_ATTR_PROTOCOL', 'uint16'),
            # union nf_inet_addr, 16 bytes whatever the family: decoded by the caller
            ('IPVS_SVC_ATTR_ADDR', 'cdata'),
            ('IPVS_SVC_ATTR_PORT', 'be16'),
            ('IPVS_SVC_ATTR_FWMARK', 'uint32'),
            ('IPVS_SVC_ATTR_SCHED_NAME', 'asciiz'),
            ('IPVS_SVC_ATTR_FLAGS', 'svc_flags'),
            ('IPVS_SVC_ATTR_TIMEOUT', 'uint32'),
            # IPv4: a mask in network order; IPv6: a prefix length (host u32), see _ipvs_model
            ('IPVS_SVC_ATTR_NETMASK', 'cdata'),
            ('IPVS_SVC_ATTR_STATS', 'stats32'),
            ('IPVS_SVC_ATTR_PE_NAME', 'asciiz'),
            ('IPVS_SVC_ATTR_STATS64', 'stats64'),
        )

        class svc_flags(nla):
            fields = (('flags', 'I'), ('mask', 'I'))

        stats32 = _stats32
        stats64 = _stats64

    class dest(nla):
        prefix = 'IPVS_DEST_ATTR_'
        nla_map = (
            ('IPVS_DEST_ATTR_UNSPEC', 'none'),
            ('IPVS_DEST_ATTR_ADDR', 'cdata'),
            ('IPVS_DEST_ATTR_PORT', 'be16'),
            ('IPVS_DEST_ATTR_FWD_METHOD', 'uint32'),
            ('IPVS_DEST_ATTR_WEIGHT', 'uint32'),
            ('IPVS_DEST_ATTR_U_THRESH', 'uint32'),
            ('IPVS_DEST_ATTR_L_THRESH', 'uint32'),
            ('IPVS_DEST_ATTR_ACTIVE_CONNS', 'uint32'),
            ('IPVS_DEST_ATTR_INACT_CONNS', 'uint32'),
            ('IPVS_DEST_ATTR_PERSIST_CONNS', 'uint32'),
            ('IPVS_DEST_ATTR_STATS', 'stats32'),
            ('IPVS_DEST_ATTR_ADDR_FAMILY', 'uint16'),
            ('IPVS_DEST_ATTR_STATS64', 'stats64'),
            ('IPVS_DEST_ATTR_TUN_TYPE', 'uint8'),
            # the kernel reads and writes the tunnel port in network order (pyroute2 0.9.7 says uint16)
            ('IPVS_DEST_ATTR_TUN_PORT', 'be16'),
            ('IPVS_DEST_ATTR_TUN_FLAGS', 'uint16'),
        )

        stats32 = _stats32
        stats64 = _stats64


# --------------------------------------------------------------------------- encode

def service_key_attrs(service):
    """The attributes that name a service (ip_vs_genl_parse_service without full_entry)."""
    attrs = [('IPVS_SVC_ATTR_AF', model.FAMILIES[service['family']])]
    if service.get('fwmark'):
        # Firewall-mark services: family and mark only, no address (pyroute2 #1459 sends one and fails).
        attrs.append(('IPVS_SVC_ATTR_FWMARK', service['fwmark']))
    else:
        attrs.extend([
            ('IPVS_SVC_ATTR_PROTOCOL', model.PROTOCOLS[service['protocol']]),
            ('IPVS_SVC_ATTR_ADDR', model.address_to_wire(service['family'], service['address'])),
            ('IPVS_SVC_ATTR_PORT', service['port']),
        ])
    return attrs


def service_full_attrs(service):
    """Key plus everything NEW/SET_SERVICE require; flags go with mask ~0 so every bit is set as given."""
    family = service['family']
    persistent = bool(service.get('persistence_timeout'))
    netmask = service.get('persistence_netmask') if persistent else None
    if netmask is None:
        netmask = 128 if family == 'ipv6' else 32  # the kernel refuses an IPv6 netmask outside 1..128
    attrs = service_key_attrs(service)
    attrs.extend([
        ('IPVS_SVC_ATTR_SCHED_NAME', service['scheduler']),
        ('IPVS_SVC_ATTR_FLAGS', {'flags': model.encode_flags(service), 'mask': model.UINT32_MASK}),
        ('IPVS_SVC_ATTR_TIMEOUT', service.get('persistence_timeout') or 0),
        ('IPVS_SVC_ATTR_NETMASK', model.netmask_to_wire(family, netmask) if isinstance(netmask, int)
         else model.address_to_wire('ipv4', netmask)[:4]),
    ])
    if persistent and service.get('persistence_engine'):
        # Absent PE_NAME on SET_SERVICE makes the kernel drop the engine: that is what we want then.
        attrs.append(('IPVS_SVC_ATTR_PE_NAME', service['persistence_engine']))
    return attrs


def server_key_attrs(service, server):
    return [
        ('IPVS_DEST_ATTR_ADDR', model.address_to_wire(service['family'], server['address'])),
        ('IPVS_DEST_ATTR_PORT', server['port']),
        ('IPVS_DEST_ATTR_ADDR_FAMILY', model.FAMILIES[service['family']]),
    ]


def server_full_attrs(service, server):
    attrs = server_key_attrs(service, server)
    attrs.extend([
        ('IPVS_DEST_ATTR_FWD_METHOD', model.FORWARDING[server['forwarding']]),
        ('IPVS_DEST_ATTR_WEIGHT', server['weight']),
        ('IPVS_DEST_ATTR_U_THRESH', server['upper_threshold']),
        ('IPVS_DEST_ATTR_L_THRESH', server['lower_threshold']),
    ])
    if server['forwarding'] == 'tun':
        # Only for tunnels: kernels before 5.3 know no tunnel attributes and read every tunnel as ipip.
        attrs.extend([
            ('IPVS_DEST_ATTR_TUN_TYPE', model.TUNNEL_TYPES[server['tunnel_type']]),
            ('IPVS_DEST_ATTR_TUN_PORT', server.get('tunnel_port') or 0),
            ('IPVS_DEST_ATTR_TUN_FLAGS', model.TUNNEL_CHECKSUMS[server['tunnel_checksum']]),
        ])
    return attrs


# --------------------------------------------------------------------------- decode

def _stats(container, plain_name, wide_name):
    """Counters and rates; the 64-bit set when the kernel sends it (4.x+), else the 32-bit one."""
    block = container.get_attr(wide_name) or container.get_attr(plain_name)
    counters = {}
    rates = {}
    for attr, counter, rate in STATS_FIELDS:
        value = block.get_attr(attr) if block is not None else None
        value = int(value or 0)
        if counter:
            counters[counter] = value
        else:
            rates[rate] = value
    return counters, rates


def decode_service(svc_nla):
    family_number = svc_nla.get_attr('IPVS_SVC_ATTR_AF')
    family = 'ipv6' if family_number == model.FAMILIES['ipv6'] else 'ipv4'
    fwmark = svc_nla.get_attr('IPVS_SVC_ATTR_FWMARK') or None
    protocol_number = svc_nla.get_attr('IPVS_SVC_ATTR_PROTOCOL')
    service = {'family': family, 'fwmark': fwmark, 'protocol': None, 'address': None, 'port': None}
    if not fwmark:
        protocols = dict((number, name) for name, number in model.PROTOCOLS.items())
        service['protocol'] = protocols.get(protocol_number, str(protocol_number))
        service['address'] = model.address_from_wire(family, svc_nla.get_attr('IPVS_SVC_ATTR_ADDR'))
        service['port'] = svc_nla.get_attr('IPVS_SVC_ATTR_PORT')
    scheduler = svc_nla.get_attr('IPVS_SVC_ATTR_SCHED_NAME')
    service['scheduler'] = scheduler
    flags_nla = svc_nla.get_attr('IPVS_SVC_ATTR_FLAGS')
    flags = flags_nla['flags'] if flags_nla is not None else 0
    decoded = model.decode_flags(scheduler, flags)
    timeout = svc_nla.get_attr('IPVS_SVC_ATTR_TIMEOUT') or 0
    netmask_raw = svc_nla.get_attr('IPVS_SVC_ATTR_NETMASK')
    if decoded['persistent']:
        service['persistence_timeout'] = timeout
        service['persistence_netmask'] = model.netmask_from_wire(family, netmask_raw) if netmask_raw else None
        service['persistence_engine'] = svc_nla.get_attr('IPVS_SVC_ATTR_PE_NAME') or None
    else:
        service['persistence_timeout'] = None
        service['persistence_netmask'] = None
        service['persistence_engine'] = None
    for name in ('one_packet',) + model.SCHEDULER_FLAG_OPTIONS + ('other_flags',):
        service[name] = decoded[name]
    service['flags'] = flags & ~model.FLAG_HASHED
    service['stats'], service['rates'] = _stats(svc_nla, 'IPVS_SVC_ATTR_STATS', 'IPVS_SVC_ATTR_STATS64')
    return service


def decode_server(service, dest_nla):
    family_number = dest_nla.get_attr('IPVS_DEST_ATTR_ADDR_FAMILY')
    family = service['family'] if family_number is None else ('ipv6' if family_number == model.FAMILIES['ipv6'] else 'ipv4')
    methods = dict((number, name) for name, number in model.FORWARDING.items())
    forwarding = methods.get((dest_nla.get_attr('IPVS_DEST_ATTR_FWD_METHOD') or 0) & 0x7, 'unknown')
    server = {
        'family': family,
        'address': model.address_from_wire(family, dest_nla.get_attr('IPVS_DEST_ATTR_ADDR')),
        'port': dest_nla.get_attr('IPVS_DEST_ATTR_PORT'),
        'forwarding': forwarding,
        'weight': dest_nla.get_attr('IPVS_DEST_ATTR_WEIGHT'),
        'upper_threshold': dest_nla.get_attr('IPVS_DEST_ATTR_U_THRESH') or 0,
        'lower_threshold': dest_nla.get_attr('IPVS_DEST_ATTR_L_THRESH') or 0,
        'tunnel_type': None,
        'tunnel_port': None,
        'tunnel_checksum': None,
        'active_connections': dest_nla.get_attr('IPVS_DEST_ATTR_ACTIVE_CONNS') or 0,
        'inactive_connections': dest_nla.get_attr('IPVS_DEST_ATTR_INACT_CONNS') or 0,
        'persistent_connections': dest_nla.get_attr('IPVS_DEST_ATTR_PERSIST_CONNS') or 0,
    }
    if forwarding == 'tun':
        types = dict((number, name) for name, number in model.TUNNEL_TYPES.items())
        checksums = dict((number, name) for name, number in model.TUNNEL_CHECKSUMS.items())
        server['tunnel_type'] = types.get(dest_nla.get_attr('IPVS_DEST_ATTR_TUN_TYPE') or 0, 'unknown')
        server['tunnel_port'] = dest_nla.get_attr('IPVS_DEST_ATTR_TUN_PORT') or 0
        server['tunnel_checksum'] = checksums.get(dest_nla.get_attr('IPVS_DEST_ATTR_TUN_FLAGS') or 0, 'unknown')
    server['stats'], server['rates'] = _stats(dest_nla, 'IPVS_DEST_ATTR_STATS', 'IPVS_DEST_ATTR_STATS64')
    return server


# --------------------------------------------------------------------------- the client

def _kernel_reason(error, what):
    code = getattr(error, 'code', None)
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
    reason = reasons.get(code, str(error))
    return '%s failed: %s (errno %s)' % (what, reason, code)


class IpvsClient(object):
    """One generic netlink socket bound to the IPVS family, for one module run."""

    def __init__(self):
        self.socket = None

    def open(self):
        try:
            self.socket = GenericNetlinkSocket()
            self.socket.bind(GENL_NAME, IpvsMessage)
        except NetlinkError as error:
            self.close()
            if getattr(error, 'code', None) == errno.ENOENT:
                raise IpvsError(NO_IPVS_MESSAGE)
            raise IpvsError(_kernel_reason(error, 'opening the IPVS netlink family'))
        return self

    def close(self):
        if self.socket is not None:
            try:
                self.socket.close()
            finally:
                self.socket = None

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc_info):
        self.close()

    def _service_write(self, cmd, service, what):
        try:
            self._service_cmd(cmd, service_full_attrs(service), what)
        except IpvsError as error:
            if getattr(error, 'code', None) != errno.ENOENT:
                raise
            # NEW/SET_SERVICE answer ENOENT when the scheduler or engine module cannot be found or loaded.
            suspects = ['scheduler: the kernel has no scheduler %s (module ip_vs_%s not built or not loadable; twos needs Linux 6.2+)'
                        % (service['scheduler'], service['scheduler'])]
            if service.get('persistence_engine'):
                suspects.append('or persistence_engine: no engine %s (module ip_vs_pe_%s)'
                                % (service['persistence_engine'], service['persistence_engine']))
            raise IpvsError('%s failed: %s' % (what, ' '.join(suspects)), errno.ENOENT)

    def _request(self, cmd, attrs, dump, what):
        msg = IpvsMessage()
        msg['cmd'] = cmd
        msg['version'] = GENL_VERSION
        msg['attrs'] = attrs
        flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else NLM_F_ACK)
        try:
            return list(self.socket.nlm_request(msg, msg_type=self.socket.prid, msg_flags=flags))
        except NetlinkError as error:
            raise IpvsError(_kernel_reason(error, what), getattr(error, 'code', None))

    # reads
    def services(self):
        replies = self._request(CMD_GET_SERVICE, [], True, 'listing IPVS services')
        return [decode_service(reply.get_attr('IPVS_CMD_ATTR_SERVICE'))
                for reply in replies if reply.get_attr('IPVS_CMD_ATTR_SERVICE') is not None]

    def find_service(self, identity):
        """The kernel's service with this identity, or None; one GET, so a big table costs nothing extra."""
        try:
            replies = self._request(CMD_GET_SERVICE, [('IPVS_CMD_ATTR_SERVICE', {'attrs': service_key_attrs(identity)})], False,
                                    'reading service %s' % model.describe_service(identity))
        except IpvsError as error:
            if error.code == errno.ESRCH:
                return None
            raise
        for reply in replies:
            found = reply.get_attr('IPVS_CMD_ATTR_SERVICE')
            if found is not None:
                return decode_service(found)
        return None

    def servers(self, service):
        replies = self._request(CMD_GET_DEST, [('IPVS_CMD_ATTR_SERVICE', {'attrs': service_key_attrs(service)})], True,
                                'listing the real servers of %s' % model.describe_service(service))
        return [decode_server(service, reply.get_attr('IPVS_CMD_ATTR_DEST'))
                for reply in replies if reply.get_attr('IPVS_CMD_ATTR_DEST') is not None]

    # writes
    def _service_cmd(self, cmd, attrs, what):
        self._request(cmd, [('IPVS_CMD_ATTR_SERVICE', {'attrs': attrs})], False, what)

    def _server_cmd(self, cmd, service, attrs, what):
        self._request(cmd, [('IPVS_CMD_ATTR_SERVICE', {'attrs': service_key_attrs(service)}),
                            ('IPVS_CMD_ATTR_DEST', {'attrs': attrs})], False, what)

    def execute(self, op):
        kind = op['op']
        what = op.get('text') or kind
        if kind == 'add_service':
            self._service_write(CMD_NEW_SERVICE, op['new'], what)
        elif kind == 'set_service':
            self._service_write(CMD_SET_SERVICE, op['new'], what)
        elif kind == 'del_service':
            self._service_cmd(CMD_DEL_SERVICE, service_key_attrs(op['old']), what)
        elif kind == 'restore_service':
            self._service_cmd(CMD_NEW_SERVICE, service_full_attrs(op['new']), what)
            for server in op['servers']:
                self._server_cmd(CMD_NEW_DEST, op['new'], server_full_attrs(op['new'], server), what)
        elif kind == 'add_server':
            self._server_cmd(CMD_NEW_DEST, op['service'], server_full_attrs(op['service'], op['new']), what)
        elif kind == 'set_server':
            self._server_cmd(CMD_SET_DEST, op['service'], server_full_attrs(op['service'], op['new']), what)
        elif kind == 'del_server':
            self._server_cmd(CMD_DEL_DEST, op['service'], server_key_attrs(op['service'], op['old']), what)
        else:
            raise ValueError('unknown IPVS operation %r' % kind)

    def apply(self, ops):
        """Run ops in order; if one fails, undo the ones done (newest first) and raise IpvsApplyError."""
        done = []
        for op in ops:
            try:
                self.execute(op)
            except IpvsError as error:
                failures = []
                for previous in reversed(done):
                    undo = model.inverse(previous)
                    try:
                        self.execute(undo)
                    except IpvsError as undo_error:
                        failures.append('%s (%s)' % (previous['text'], undo_error))
                if failures:
                    message = '%s; rolling back this run FAILED for: %s' % (error, '; '.join(failures))
                elif done:
                    message = '%s; the %d earlier change(s) of this run were rolled back, the table is as before' % (error, len(done))
                else:
                    message = '%s; nothing was changed' % error
                raise IpvsApplyError(message, [item['text'] for item in done], failures)
            done.append(op)
        return [op['text'] for op in done]
