# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the netlink layer without a kernel: wire encoding and decoding, batches, rollback.

The oracle for the wire format is an independent implementation: pyroute2's generic netlink message
classes, with the IPVS attribute map the modules used before they decoded the attributes themselves
(and which passed the lab's real-kernel runs). Bytes the client encodes must decode there to the same
values, and bytes pyroute2 encodes must decode here to the same values.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import struct

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs as ipvs
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as nl
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_options as options
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_plan as plan
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_values as values
from ansible_collections.lvs.cluster.tests.unit.plugins.module_utils import ipvs_kernel

pyroute2_netlink = pytest.importorskip('pyroute2.netlink')
genlmsg = pyroute2_netlink.genlmsg
nla = pyroute2_netlink.nla


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
            # IPv4: a mask in network order; IPv6: a prefix length (host u32), see _ipvs_values
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


def service(**params):
    base = dict(address='10.99.0.1', port=80, scheduler='wlc')
    base.update(params)
    return options.service_from_params(base)


def message(cmd, payload):
    """A whole request as the client frames it."""
    client = nl.GenericNetlink('IPVS')
    client.family = 0x20
    return client.request(cmd, payload)[0]


def oracle(data):
    msg = IpvsMessage(data)
    msg.decode()
    return msg


def oracle_wire(cmd, attrs):
    msg = IpvsMessage()
    msg['cmd'] = cmd
    msg['version'] = 1
    msg['attrs'] = attrs
    msg.encode()
    return bytes(msg.data)


def nest(data, kind):
    start, size = nl.attrs(data, nl.HEADERS_SIZE, len(data))[kind]
    return data, start, start + size


def raw_attrs(payload):
    """(type, bytes) of the attributes in a netlink attribute stream."""
    out = []
    offset = 0
    while offset + 4 <= len(payload):
        length, kind = struct.unpack('=HH', payload[offset:offset + 4])
        out.append((kind & 0x3fff, payload[offset + 4:offset + length]))
        offset += (length + 3) & ~3
    return out


def service_nest_raw(data):
    # nlmsghdr 16 + genlmsghdr 4, then IPVS_CMD_ATTR_SERVICE (1)
    (_kind, nested), = [item for item in raw_attrs(data[20:]) if item[0] == 1]
    return dict(raw_attrs(nested))


SERVICES = [
    dict(),
    dict(address='fd99::1', protocol='udp', scheduler='mh', mh_port=True, one_packet=True,
         persistence_timeout=600, persistence_netmask=64, persistence_engine='sip'),
    dict(address=None, port=None, fwmark=7, family='ipv6', scheduler='sh', sh_fallback=True),
    dict(protocol='sctp', scheduler='ovf', persistence_timeout=30, persistence_netmask='255.255.255.0'),
]


@pytest.mark.parametrize('params', SERVICES)
def test_service_round_trips_and_pyroute2_reads_the_same(params):
    svc = service(**params)
    data = message(ipvs.CMD_NEW_SERVICE, ipvs.service_payload(ipvs.service_full_attrs(svc)))
    decoded = ipvs.decode_service(*nest(data, ipvs.CMD_ATTR_SERVICE))
    for name in ('family', 'protocol', 'address', 'port', 'fwmark') + values.SERVICE_SETTINGS:
        assert decoded[name] == svc[name], name
    theirs = oracle(data).get_attr('IPVS_CMD_ATTR_SERVICE')
    assert theirs.get_attr('IPVS_SVC_ATTR_SCHED_NAME') == svc['scheduler']
    assert theirs.get_attr('IPVS_SVC_ATTR_FWMARK') == svc['fwmark']
    assert theirs.get_attr('IPVS_SVC_ATTR_PORT') == svc['port']
    assert theirs.get_attr('IPVS_SVC_ATTR_FLAGS')['flags'] == values.encode_flags(svc)
    assert (theirs.get_attr('IPVS_SVC_ATTR_TIMEOUT') or 0) == (svc['persistence_timeout'] or 0)


@pytest.mark.parametrize('params', SERVICES)
def test_service_encoded_by_pyroute2_decodes_the_same(params):
    svc = service(**params)
    key = dict(raw_attrs(ipvs.service_full_attrs(svc)))
    attrs = [('IPVS_SVC_ATTR_AF', values.FAMILIES[svc['family']]),
             ('IPVS_SVC_ATTR_SCHED_NAME', svc['scheduler']),
             ('IPVS_SVC_ATTR_FLAGS', {'flags': values.encode_flags(svc) | values.FLAG_HASHED, 'mask': 0xffffffff}),
             ('IPVS_SVC_ATTR_TIMEOUT', svc['persistence_timeout'] or 0),
             ('IPVS_SVC_ATTR_NETMASK', key[ipvs.SVC_NETMASK]),
             ('IPVS_SVC_ATTR_STATS64', {'attrs': [('IPVS_STATS_ATTR_CONNS', 2 ** 33), ('IPVS_STATS_ATTR_CPS', 3)]})]
    if svc['fwmark']:
        attrs.append(('IPVS_SVC_ATTR_FWMARK', svc['fwmark']))
    else:
        attrs += [('IPVS_SVC_ATTR_PROTOCOL', values.PROTOCOLS[svc['protocol']]),
                  ('IPVS_SVC_ATTR_ADDR', values.address_to_wire(svc['family'], svc['address'])),
                  ('IPVS_SVC_ATTR_PORT', svc['port'])]
    if svc['persistence_engine']:
        attrs.append(('IPVS_SVC_ATTR_PE_NAME', svc['persistence_engine']))
    data = oracle_wire(ipvs.CMD_NEW_SERVICE, [('IPVS_CMD_ATTR_SERVICE', {'attrs': attrs})])
    decoded = ipvs.decode_service(*nest(data, ipvs.CMD_ATTR_SERVICE))
    for name in ('family', 'protocol', 'address', 'port', 'fwmark') + values.SERVICE_SETTINGS:
        assert decoded[name] == svc[name], name
    assert decoded['flags'] == values.encode_flags(svc)  # the kernel's HASHED bit is never reported
    assert decoded['stats']['connections'] == 2 ** 33 and decoded['rates']['connections'] == 3
    assert 'stats' not in ipvs.decode_service(*nest(data, ipvs.CMD_ATTR_SERVICE), counters=False)


def test_service_attributes_have_kernel_byte_layout():
    svc = service(address='fd99::1', persistence_timeout=300, persistence_netmask=64)
    attrs = service_nest_raw(message(ipvs.CMD_NEW_SERVICE, ipvs.service_payload(ipvs.service_full_attrs(svc))))
    assert struct.unpack('=H', attrs[1])[0] == 10            # AF_INET6
    assert struct.unpack('=H', attrs[2])[0] == 6             # IPPROTO_TCP
    assert attrs[3] == values.address_to_wire('ipv6', 'fd99::1') and len(attrs[3]) == 16
    assert attrs[4] == b'\x00\x50'                           # port in network order
    assert attrs[6] == b'wlc\x00'
    assert struct.unpack('=II', attrs[7]) == (values.FLAG_PERSISTENT, 0xffffffff)
    assert struct.unpack('=I', attrs[8])[0] == 300
    assert struct.unpack('=I', attrs[9])[0] == 64            # IPv6: prefix length, host order
    assert 11 not in attrs                                   # no persistence engine asked, none sent


def test_fwmark_service_key_has_family_and_mark_only():
    """pyroute2 #1459: a fwmark service must be named by AF and FWMARK, with no address."""
    svc = service(address=None, port=None, fwmark=42, family='ipv6')
    attrs = service_nest_raw(message(ipvs.CMD_GET_DEST, ipvs.service_payload(ipvs.service_key_attrs(svc))))
    assert sorted(attrs) == [1, 5]
    assert struct.unpack('=H', attrs[1])[0] == 10
    assert struct.unpack('=I', attrs[5])[0] == 42


def test_ipv4_non_persistent_service_still_sends_a_full_netmask():
    attrs = service_nest_raw(message(ipvs.CMD_NEW_SERVICE, ipvs.service_payload(ipvs.service_full_attrs(service()))))
    assert attrs[9] == b'\xff\xff\xff\xff'
    assert struct.unpack('=I', attrs[8])[0] == 0


SERVERS = [
    dict(address='10.99.1.1'),
    dict(address='10.99.1.2', port=8080, forwarding='nat', weight=7, upper_threshold=10, lower_threshold=5),
    dict(address='10.99.1.3', forwarding='tun', tunnel_type='gue', tunnel_port=6080, tunnel_checksum='remcsum'),
    dict(address='10.99.1.4', forwarding='tun', tunnel_type='gre', tunnel_checksum='csum'),
]


@pytest.mark.parametrize('entry', SERVERS)
def test_server_round_trips_and_pyroute2_reads_the_same(entry):
    svc = service()
    (server,) = options.servers_from_params([entry], svc)
    data = message(ipvs.CMD_NEW_DEST, ipvs.service_payload(ipvs.service_key_attrs(svc), ipvs.server_full_attrs(svc, server)))
    decoded = ipvs.decode_server(svc, *nest(data, ipvs.CMD_ATTR_DEST))
    for name in ('address', 'port') + values.SERVER_SETTINGS:
        assert decoded[name] == server[name], name
    theirs = oracle(data).get_attr('IPVS_CMD_ATTR_DEST')
    assert theirs.get_attr('IPVS_DEST_ATTR_PORT') == server['port']
    assert theirs.get_attr('IPVS_DEST_ATTR_WEIGHT') == server['weight']
    assert theirs.get_attr('IPVS_DEST_ATTR_FWD_METHOD') == values.FORWARDING[server['forwarding']]
    assert (theirs.get_attr('IPVS_DEST_ATTR_TUN_PORT') or 0) == (server['tunnel_port'] or 0)


def test_server_encoded_by_pyroute2_with_counters_decodes_the_same():
    svc = service()
    data = oracle_wire(ipvs.CMD_NEW_DEST, [('IPVS_CMD_ATTR_DEST', {'attrs': [
        ('IPVS_DEST_ATTR_ADDR', values.address_to_wire('ipv4', '10.99.1.3')), ('IPVS_DEST_ATTR_PORT', 80),
        ('IPVS_DEST_ATTR_FWD_METHOD', 2), ('IPVS_DEST_ATTR_WEIGHT', 4), ('IPVS_DEST_ATTR_ADDR_FAMILY', 2),
        ('IPVS_DEST_ATTR_ACTIVE_CONNS', 5), ('IPVS_DEST_ATTR_INACT_CONNS', 6), ('IPVS_DEST_ATTR_PERSIST_CONNS', 7),
        ('IPVS_DEST_ATTR_TUN_TYPE', 1), ('IPVS_DEST_ATTR_TUN_PORT', 6080), ('IPVS_DEST_ATTR_TUN_FLAGS', 2),
        ('IPVS_DEST_ATTR_STATS', {'attrs': [('IPVS_STATS_ATTR_CONNS', 9), ('IPVS_STATS_ATTR_INBYTES', 2 ** 40)]}),
    ]})])
    decoded = ipvs.decode_server(svc, *nest(data, ipvs.CMD_ATTR_DEST))
    assert (decoded['address'], decoded['port'], decoded['forwarding'], decoded['weight']) == ('10.99.1.3', 80, 'tun', 4)
    assert (decoded['tunnel_type'], decoded['tunnel_port'], decoded['tunnel_checksum']) == ('gue', 6080, 'remcsum')
    assert (decoded['active_connections'], decoded['inactive_connections'], decoded['persistent_connections']) == (5, 6, 7)
    assert decoded['stats']['connections'] == 9 and decoded['stats']['incoming_bytes'] == 2 ** 40  # 32-bit set, u64 bytes


def test_tunnel_port_is_network_order():
    svc = service()
    (server,) = options.servers_from_params([dict(address='10.99.1.3', forwarding='tun', tunnel_type='gue', tunnel_port=6080)], svc)
    attrs = dict(raw_attrs(ipvs.server_full_attrs(svc, server)))
    assert attrs[14] == struct.pack('!H', 6080)      # IPVS_DEST_ATTR_TUN_PORT
    assert attrs[13] == b'\x01'                      # IPVS_DEST_ATTR_TUN_TYPE: GUE


def test_stats64_preferred_over_stats32():
    svc = service()
    data = message(ipvs.CMD_GET_SERVICE, ipvs.service_payload(
        ipvs.service_full_attrs(svc) + nl.attr(ipvs.SVC_STATS, nl.attr(1, struct.pack('=I', 1)))
        + ipvs_kernel.stats_attrs(ipvs.SVC_STATS64, 2 ** 33)))
    decoded = ipvs.decode_service(*nest(data, ipvs.CMD_ATTR_SERVICE))
    assert decoded['stats']['connections'] == 2 ** 33 + 1
    assert decoded['rates']['connections'] == 2 ** 33 + 6


def test_answers_are_matched_to_their_requests_across_datagrams():
    """_collect reads acknowledgements and replies of a batch, in any number of datagrams, by sequence."""
    client = nl.GenericNetlink('IPVS')

    class Socket(object):
        def __init__(self, datagrams):
            self.datagrams = list(datagrams)

        def recv_into(self, view):
            data = self.datagrams.pop(0)
            view[:len(data)] = data
            return len(data)

    def ack(sequence, code=0):
        return nl.HEADER.pack(36, nl.NLMSG_ERROR, 0, sequence, 0) + struct.pack('=i', -code) + b'\0' * 16

    def data_message(sequence):
        body = nl.GENL_HEADER.pack(1, 1, 0) + nl.attr_u32(1, sequence)
        return nl.HEADER.pack(16 + len(body), 0x20, 0, sequence, 0) + body

    client.sock = Socket([ack(6), data_message(7) + ack(7), ack(8, errno.EEXIST) + ack(9)])
    answers = client._collect([7, 8, 9])
    assert len(answers[0]) == 1 and answers[1].errno == errno.EEXIST and answers[2] == []
    (buf, start, end), = answers[0]
    assert struct.unpack_from('=I', buf, nl.attrs(buf, start, end)[1][0])[0] == 7


# --------------------------------------------------------------------------- apply and rollback, real client

@pytest.fixture
def kernel(monkeypatch):
    return ipvs_kernel.install(monkeypatch)


def two_server_plan():
    svc = service()
    servers = options.servers_from_params([dict(address='10.99.1.1'), dict(address='10.99.1.2')], svc)
    return plan.plan_service(svc, None, 'present', servers, [])


def test_apply_runs_every_op_in_order(kernel):
    with ipvs.IpvsClient() as client:
        done = client.apply(two_server_plan())
    assert kernel.sent == [(ipvs.CMD_NEW_SERVICE, False), (ipvs.CMD_NEW_DEST, False), (ipvs.CMD_NEW_DEST, False)]
    assert len(done) == 3 and kernel.writes == 3


def test_refusal_mid_way_rolls_back_everything_the_kernel_did(kernel):
    kernel.refuse[(ipvs.CMD_NEW_DEST, '10.99.1.1')] = errno.EINVAL
    with ipvs.IpvsClient() as client:
        with pytest.raises(ipvs.IpvsApplyError) as caught:
            client.apply(two_server_plan())
    # the kernel carried on after the refusal (server 2 was added), and the rollback undid both, newest first
    assert kernel.sent[3:] == [(ipvs.CMD_DEL_DEST, False), (ipvs.CMD_DEL_SERVICE, False)]
    assert 'rolled back' in str(caught.value) and caught.value.rollback_failures == []
    assert kernel.table == {}


def test_removal_is_restored_from_the_kernel_entry_with_every_setting(kernel):
    kernel.add(dict(address='10.99.0.1', port=80), [dict(address='10.99.1.1', forwarding='tun', weight=0, upper_threshold=9,
                                                         tunnel_type='gue', tunnel_port=6080)])
    kernel.add(dict(address='10.99.0.2', port=80))
    before = kernel.rules()
    with ipvs.IpvsClient() as client:
        svc = client.find_service(service())
        (current,) = client.servers(svc)
        ops = [{'op': 'del_server', 'service': svc, 'old': current, 'text': 'remove drained server'},
               {'op': 'set_service', 'new': dict(svc, address='10.99.0.2', scheduler='twos'),
                'old': dict(svc, address='10.99.0.2'), 'text': 'update'}]
        with pytest.raises(ipvs.IpvsApplyError) as caught:
            client.apply(ops)
    assert 'scheduler: the kernel has no scheduler twos' in str(caught.value)
    assert kernel.rules() == before


def test_undo_that_cannot_be_made_is_reported_and_the_others_still_run(kernel):
    kernel.add(dict(address='10.99.0.1', port=80), [dict(address='10.99.1.1'), dict(address='10.99.1.2')])
    with ipvs.IpvsClient() as client:
        svc = client.find_service(service())
        first, second = client.servers(svc)
        ops = [{'op': 'del_server', 'service': svc, 'old': {'address': first['address'], 'port': 80}, 'text': 'remove 1'},
               {'op': 'del_server', 'service': svc, 'old': second, 'text': 'remove 2'},
               {'op': 'add_service', 'new': service(address='10.99.0.3', scheduler='twos'), 'text': 'add 3'}]
        with pytest.raises(ipvs.IpvsApplyError) as caught:
            client.apply(ops)
    assert 'FAILED' in str(caught.value)
    assert caught.value.rollback_failures == ["remove 1 (cannot undo it: KeyError 'forwarding')"]
    assert [server['address'] for server in kernel.table[values.service_key(svc)][1].values()] == ['10.99.1.2']


def test_failed_undo_is_reported(kernel):
    kernel.refuse[(ipvs.CMD_NEW_DEST, '10.99.1.2')] = errno.EINVAL
    kernel.refuse[(ipvs.CMD_DEL_DEST, '10.99.1.1')] = errno.EPERM
    with ipvs.IpvsClient() as client:
        with pytest.raises(ipvs.IpvsApplyError) as caught:
            client.apply(two_server_plan())
    assert 'FAILED' in str(caught.value) and len(caught.value.rollback_failures) == 1
    assert 'permission denied' in caught.value.rollback_failures[0]


def test_missing_scheduler_names_the_scheduler_option(kernel):
    with ipvs.IpvsClient() as client:
        with pytest.raises(ipvs.IpvsApplyError) as caught:
            client.apply(plan.plan_service(service(scheduler='twos'), None, 'present'))
    assert 'scheduler: the kernel has no scheduler twos' in str(caught.value)
    assert 'nothing was changed' in str(caught.value)


def test_missing_family_says_load_ip_vs(kernel):
    kernel.missing = True
    with pytest.raises(ipvs.IpvsError) as caught:
        ipvs.IpvsClient().open()
    assert 'the kernel has no IPVS (load ip_vs)' in str(caught.value)


def test_find_services_is_one_get_each_and_missing_is_none(kernel):
    kernel.add(dict(address=None, port=None, fwmark=9, family='ipv6', scheduler='rr'))
    wanted = [service(address=None, port=None, fwmark=9, family='ipv6'), service(address='10.99.0.5')]
    with ipvs.IpvsClient() as client:
        found, missing = client.find_services(wanted)
    assert kernel.sent == [(ipvs.CMD_GET_SERVICE, False)] * 2
    assert (found['fwmark'], found['family'], found['scheduler']) == (9, 'ipv6', 'rr') and missing is None
    kernel.refuse[(ipvs.CMD_GET_SERVICE, None)] = errno.EPERM
    with ipvs.IpvsClient() as client:
        with pytest.raises(ipvs.IpvsError):
            client.find_service(wanted[0])
