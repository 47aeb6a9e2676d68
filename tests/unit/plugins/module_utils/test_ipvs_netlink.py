# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the netlink layer without a kernel: wire encoding, decoding, rollback."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import struct

import pytest

pytest.importorskip('pyroute2')

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs as ipvs  # noqa: E402
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_model as model  # noqa: E402


def service(**params):
    base = dict(address='10.99.0.1', port=80, scheduler='wlc')
    base.update(params)
    return model.service_from_params(base)


def wire(cmd, attrs):
    msg = ipvs.IpvsMessage()
    msg['cmd'] = cmd
    msg['version'] = ipvs.GENL_VERSION
    msg['attrs'] = attrs
    msg.encode()
    return msg.data


def parse(data):
    msg = ipvs.IpvsMessage(data)
    msg.decode()
    return msg


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
    (kind, nested), = [item for item in raw_attrs(data[20:]) if item[0] == 1]
    return dict(raw_attrs(nested))


@pytest.mark.parametrize('params', [
    dict(),
    dict(address='fd99::1', protocol='udp', scheduler='mh', mh_port=True, one_packet=True,
         persistence_timeout=600, persistence_netmask=64, persistence_engine='sip'),
    dict(address=None, port=None, fwmark=7, family='ipv6', scheduler='sh', sh_fallback=True),
    dict(protocol='sctp', scheduler='ovf', persistence_timeout=30, persistence_netmask='255.255.255.0'),
])
def test_service_round_trips_through_the_wire(params):
    svc = service(**params)
    decoded = ipvs.decode_service(parse(wire(ipvs.CMD_NEW_SERVICE, [
        ('IPVS_CMD_ATTR_SERVICE', {'attrs': ipvs.service_full_attrs(svc)})])).get_attr('IPVS_CMD_ATTR_SERVICE'))
    for name in ('family', 'protocol', 'address', 'port', 'fwmark') + model.SERVICE_SETTINGS:
        assert decoded[name] == svc[name], name


def test_service_attributes_have_kernel_byte_layout():
    svc = service(address='fd99::1', persistence_timeout=300, persistence_netmask=64)
    attrs = service_nest_raw(wire(ipvs.CMD_NEW_SERVICE, [('IPVS_CMD_ATTR_SERVICE', {'attrs': ipvs.service_full_attrs(svc)})]))
    assert struct.unpack('=H', attrs[1])[0] == 10            # AF_INET6
    assert struct.unpack('=H', attrs[2])[0] == 6             # IPPROTO_TCP
    assert attrs[3] == model.address_to_wire('ipv6', 'fd99::1') and len(attrs[3]) == 16
    assert attrs[4] == b'\x00\x50'                           # port in network order
    assert attrs[6] == b'wlc\x00'
    assert struct.unpack('=II', attrs[7]) == (model.FLAG_PERSISTENT, 0xffffffff)
    assert struct.unpack('=I', attrs[8])[0] == 300
    assert struct.unpack('=I', attrs[9])[0] == 64            # IPv6: prefix length, host order
    assert 11 not in attrs                                   # no persistence engine asked, none sent


def test_fwmark_service_key_has_family_and_mark_only():
    """pyroute2 #1459: a fwmark service must be named by AF and FWMARK, with no address."""
    svc = service(address=None, port=None, fwmark=42, family='ipv6')
    attrs = service_nest_raw(wire(ipvs.CMD_GET_DEST, [('IPVS_CMD_ATTR_SERVICE', {'attrs': ipvs.service_key_attrs(svc)})]))
    assert sorted(attrs) == [1, 5]
    assert struct.unpack('=H', attrs[1])[0] == 10
    assert struct.unpack('=I', attrs[5])[0] == 42


def test_ipv4_non_persistent_service_still_sends_a_full_netmask():
    attrs = service_nest_raw(wire(ipvs.CMD_NEW_SERVICE, [('IPVS_CMD_ATTR_SERVICE', {'attrs': ipvs.service_full_attrs(service())})]))
    assert attrs[9] == b'\xff\xff\xff\xff'
    assert struct.unpack('=I', attrs[8])[0] == 0


@pytest.mark.parametrize('entry', [
    dict(address='10.99.1.1'),
    dict(address='10.99.1.2', port=8080, forwarding='nat', weight=7, upper_threshold=10, lower_threshold=5),
    dict(address='10.99.1.3', forwarding='tun', tunnel_type='gue', tunnel_port=6080, tunnel_checksum='remcsum'),
    dict(address='10.99.1.4', forwarding='tun', tunnel_type='gre', tunnel_checksum='csum'),
])
def test_server_round_trips_through_the_wire(entry):
    svc = service()
    (server,) = model.servers_from_params([entry], svc)
    data = wire(ipvs.CMD_NEW_DEST, [('IPVS_CMD_ATTR_SERVICE', {'attrs': ipvs.service_key_attrs(svc)}),
                                    ('IPVS_CMD_ATTR_DEST', {'attrs': ipvs.server_full_attrs(svc, server)})])
    decoded = ipvs.decode_server(svc, parse(data).get_attr('IPVS_CMD_ATTR_DEST'))
    for name in ('address', 'port') + model.SERVER_SETTINGS:
        assert decoded[name] == server[name], name


def test_tunnel_port_is_network_order():
    svc = service()
    (server,) = model.servers_from_params([dict(address='10.99.1.3', forwarding='tun', tunnel_type='gue', tunnel_port=6080)], svc)
    data = wire(ipvs.CMD_NEW_DEST, [('IPVS_CMD_ATTR_DEST', {'attrs': ipvs.server_full_attrs(svc, server)})])
    (kind, nested), = [item for item in raw_attrs(data[20:]) if item[0] == 2]
    attrs = dict(raw_attrs(nested))
    assert attrs[14] == struct.pack('!H', 6080)      # IPVS_DEST_ATTR_TUN_PORT
    assert attrs[13] == b'\x01'                      # IPVS_DEST_ATTR_TUN_TYPE: GUE


def test_stats64_preferred_over_stats32():
    svc = service()
    reply = wire(ipvs.CMD_GET_SERVICE, [('IPVS_CMD_ATTR_SERVICE', {'attrs': ipvs.service_full_attrs(svc) + [
        ('IPVS_SVC_ATTR_STATS', {'attrs': [('IPVS_STATS_ATTR_CONNS', 1), ('IPVS_STATS_ATTR_INBYTES', 2)]}),
        ('IPVS_SVC_ATTR_STATS64', {'attrs': [('IPVS_STATS_ATTR_CONNS', 2 ** 33), ('IPVS_STATS_ATTR_INBYTES', 2 ** 40),
                                             ('IPVS_STATS_ATTR_CPS', 3)]}),
    ]})])
    decoded = ipvs.decode_service(parse(reply).get_attr('IPVS_CMD_ATTR_SERVICE'))
    assert decoded['stats']['connections'] == 2 ** 33
    assert decoded['stats']['incoming_bytes'] == 2 ** 40
    assert decoded['rates']['connections'] == 3


# --------------------------------------------------------------------------- apply and rollback

class FakeClient(ipvs.IpvsClient):
    """Records requests; fails the request number fail_at (1-based) the way the kernel would."""

    def __init__(self, fail_at=None, code=errno.EINVAL, fail_undo=False):
        super(FakeClient, self).__init__()
        self.sent = []
        self.fail_at = fail_at
        self.code = code
        self.fail_undo = fail_undo

    def _request(self, cmd, attrs, dump, what):
        self.sent.append((cmd, what))
        failing = len(self.sent) == self.fail_at or (self.fail_undo and what.startswith('roll back'))
        if failing:
            raise ipvs.IpvsError(ipvs._kernel_reason(OSError(self.code, 'x'), what), self.code)
        return []


def plan():
    svc = service()
    servers = model.servers_from_params([dict(address='10.99.1.1'), dict(address='10.99.1.2')], svc)
    return model.plan_service(svc, None, 'present', servers, [])


def test_apply_runs_every_op_in_order():
    client = FakeClient()
    done = client.apply(plan())
    assert [cmd for cmd, _what in client.sent] == [ipvs.CMD_NEW_SERVICE, ipvs.CMD_NEW_DEST, ipvs.CMD_NEW_DEST]
    assert len(done) == 3


def test_failure_mid_way_rolls_back_newest_first():
    client = FakeClient(fail_at=3)
    with pytest.raises(ipvs.IpvsApplyError) as caught:
        client.apply(plan())
    sent = [cmd for cmd, _what in client.sent]
    # service, server 1, server 2 fails; then undo server 1, then undo the service
    assert sent == [ipvs.CMD_NEW_SERVICE, ipvs.CMD_NEW_DEST, ipvs.CMD_NEW_DEST, ipvs.CMD_DEL_DEST, ipvs.CMD_DEL_SERVICE]
    assert 'rolled back' in str(caught.value)
    assert caught.value.rollback_failures == []


def test_failed_rollback_is_reported():
    client = FakeClient(fail_at=2, fail_undo=True)
    with pytest.raises(ipvs.IpvsApplyError) as caught:
        client.apply(plan())
    assert 'FAILED' in str(caught.value)
    assert len(caught.value.rollback_failures) == 1


def test_missing_scheduler_names_the_scheduler_option():
    client = FakeClient(fail_at=1, code=errno.ENOENT)
    with pytest.raises(ipvs.IpvsApplyError) as caught:
        client.apply(model.plan_service(service(scheduler='twos'), None, 'present'))
    assert 'scheduler: the kernel has no scheduler twos' in str(caught.value)
    assert 'nothing was changed' in str(caught.value)


def test_missing_family_says_load_ip_vs(monkeypatch):
    class NoFamily(object):
        def bind(self, *args):
            raise ipvs.NetlinkError(errno.ENOENT)

        def close(self):
            pass

    monkeypatch.setattr(ipvs, 'GenericNetlinkSocket', NoFamily)
    with pytest.raises(ipvs.IpvsError) as caught:
        ipvs.IpvsClient().open()
    assert 'the kernel has no IPVS (load ip_vs)' in str(caught.value)


def test_find_service_is_one_get_and_missing_is_none():
    class Client(ipvs.IpvsClient):
        def __init__(self, replies=None, code=None):
            super(Client, self).__init__()
            self.replies, self.code, self.sent = replies, code, []

        def _request(self, cmd, attrs, dump, what):
            self.sent.append((cmd, dump, attrs))
            if self.code:
                raise ipvs.IpvsError('x', self.code)
            return self.replies

    svc = service(address=None, port=None, fwmark=9, family='ipv6', scheduler='rr')
    missing = Client(code=errno.ESRCH)
    assert missing.find_service(svc) is None
    assert missing.sent == [(ipvs.CMD_GET_SERVICE, False, [('IPVS_CMD_ATTR_SERVICE', {'attrs': ipvs.service_key_attrs(svc)})])]
    reply = parse(wire(ipvs.CMD_NEW_SERVICE, [('IPVS_CMD_ATTR_SERVICE', {'attrs': ipvs.service_full_attrs(svc)})]))
    found = Client(replies=[reply]).find_service(svc)
    assert (found['fwmark'], found['family'], found['scheduler']) == (9, 'ipv6', 'rr')
    with pytest.raises(ipvs.IpvsError):
        Client(code=errno.EPERM).find_service(svc)
