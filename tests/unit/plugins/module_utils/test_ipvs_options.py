# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the pure IPVS logic: validation, flags, netmasks, plans, rendering."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvsadm as ipvsadm
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_options as options
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_plan as plan
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_values as values


def service(**params):
    base = dict(protocol=None, address='10.99.0.1', port=80, fwmark=None, family=None, scheduler='wlc',
                persistence_timeout=None, persistence_netmask=None, persistence_engine=None, one_packet=False,
                sh_fallback=False, sh_port=False, mh_fallback=False, mh_port=False)
    base.update(params)
    return options.service_from_params(base)


# --------------------------------------------------------------------------- identity and options

@pytest.mark.parametrize('params, option, words', [
    (dict(address=None, port=None), 'address', 'fwmark'),
    (dict(address=None), 'port', 'without address'),
    (dict(address='10.99.0.1', fwmark=3), 'fwmark', 'mutually exclusive'),
    (dict(address='10.99.0.300'), 'address', 'not an IPv4 or IPv6'),
    (dict(address='10.99.0.0/24'), 'address', 'no prefix'),
    (dict(address='224.0.0.1'), 'address', 'multicast'),
    (dict(address='0.0.0.0'), 'address', 'unspecified'),
    (dict(address='::ffff:10.99.0.1'), 'address', 'IPv4-mapped'),
    (dict(port=None), 'port', 'required'),
    (dict(port=65536), 'port', 'out of range'),
    (dict(port=-1), 'port', 'out of range'),
    (dict(port=0), 'port', 'persistent'),
    (dict(family='ipv6'), 'family', 'address 10.99.0.1 is ipv4'),
    (dict(family='ipx'), 'family', 'not one of'),
    (dict(protocol='icmp'), 'protocol', 'not one of'),
    (dict(address=None, port=None, fwmark=0), 'fwmark', 'out of range'),
    (dict(address=None, port=None, fwmark=2 ** 32), 'fwmark', 'out of range'),
    (dict(address=None, fwmark=5), 'port', 'firewall-mark service has no port'),
    (dict(address=None, port=None, fwmark=5, protocol='udp'), 'protocol', 'firewall-mark service has no protocol'),
    (dict(scheduler='random'), 'scheduler', 'not one of'),
    (dict(persistence_timeout=0), 'persistence_timeout', 'out of range'),
    (dict(persistence_timeout=10 ** 10), 'persistence_timeout', 'out of range'),
    (dict(persistence_netmask=24), 'persistence_netmask', 'needs persistence_timeout'),
    (dict(persistence_timeout=60, persistence_netmask='255.0.255.0'), 'persistence_netmask', 'contiguous'),
    (dict(persistence_timeout=60, persistence_netmask=33), 'persistence_netmask', 'out of range'),
    (dict(persistence_timeout=60, persistence_netmask='abc'), 'persistence_netmask', 'prefix length'),
    (dict(persistence_timeout=60, persistence_netmask=True), 'persistence_netmask', 'prefix length'),
    (dict(address='fd99::1', persistence_timeout=60, persistence_netmask=129), 'persistence_netmask', 'out of range'),
    (dict(address='fd99::1', persistence_timeout=60, persistence_netmask='ffff::'), 'persistence_netmask', 'not a prefix length'),
    (dict(persistence_engine='sip'), 'persistence_engine', 'needs persistence_timeout'),
    (dict(persistence_engine='sip', persistence_timeout=60), 'persistence_engine', 'UDP'),
    (dict(persistence_engine='h323', persistence_timeout=60, protocol='udp'), 'persistence_engine', 'not one of'),
    (dict(one_packet=True), 'one_packet', 'UDP'),
    (dict(sh_port=True, scheduler='rr'), 'sh_port', 'scheduler sh'),
    (dict(sh_fallback=True, scheduler='mh'), 'sh_fallback', 'scheduler sh'),
    (dict(mh_port=True, scheduler='sh'), 'mh_port', 'scheduler mh'),
    (dict(mh_fallback=True, scheduler='wlc'), 'mh_fallback', 'scheduler mh'),
])
def test_bad_service_options_name_the_option(params, option, words):
    with pytest.raises(values.IpvsOptionError) as caught:
        service(**params)
    assert caught.value.option == option
    assert str(caught.value).startswith(option + ':')
    assert words in str(caught.value)


def test_address_service_defaults():
    svc = service()
    assert svc['family'] == 'ipv4'
    assert svc['protocol'] == 'tcp'
    assert svc['scheduler'] == 'wlc'
    assert svc['persistence_timeout'] is None
    assert svc['persistence_netmask'] is None
    assert values.encode_flags(svc) == 0


@pytest.mark.parametrize('address, canonical', [
    ('FD99:0:0::0001', 'fd99::1'),
    (' 10.99.0.1 ', '10.99.0.1'),
])
def test_addresses_are_canonical(address, canonical):
    assert service(address=address)['address'] == canonical


@pytest.mark.parametrize('address', ['[fd99::1]', '[fd99::1]:80'])
def test_bracketed_ipv6_addresses_are_refused(address):
    with pytest.raises(values.IpvsOptionError) as caught:
        service(address=address)
    assert caught.value.option == 'address'
    assert 'is in brackets; give the IPv6 address without them' in caught.value.reason


def test_fwmark_service_family_defaults_to_ipv4_and_keeps_ipv6():
    assert service(address=None, port=None, fwmark=7)['family'] == 'ipv4'
    svc = service(address=None, port=None, fwmark=7, family='ipv6')
    assert (svc['family'], svc['fwmark'], svc['protocol'], svc['address'], svc['port']) == ('ipv6', 7, None, None, None)


def test_identity_is_optional_for_info_only():
    assert options.service_identity_from_params(dict(address=None, fwmark=None), required=False) is None
    with pytest.raises(values.IpvsOptionError) as caught:
        options.service_identity_from_params(dict(address=None, fwmark=None, family='ipv6'), required=False)
    assert caught.value.option == 'family'


@pytest.mark.parametrize('family, given, prefix', [
    ('ipv4', None, 32),
    ('ipv4', 24, 24),
    ('ipv4', '24', 24),
    ('ipv4', '/16', 16),
    ('ipv4', '255.255.255.0', 24),
    ('ipv4', '255.255.0.0', 16),
    ('ipv6', None, 128),
    ('ipv6', 64, 64),
    ('ipv6', '48', 48),
])
def test_persistence_netmask_normalised_to_prefix_length(family, given, prefix):
    address = 'fd99::1' if family == 'ipv6' else '10.99.0.1'
    svc = service(address=address, persistence_timeout=300, persistence_netmask=given)
    assert svc['persistence_netmask'] == prefix
    assert svc['persistence_timeout'] == 300
    assert values.encode_flags(svc) & values.FLAG_PERSISTENT


# --------------------------------------------------------------------------- wire formats

@pytest.mark.parametrize('family, prefix, wire', [
    ('ipv4', 32, b'\xff\xff\xff\xff'),
    ('ipv4', 24, b'\xff\xff\xff\x00'),
    ('ipv4', 1, b'\x80\x00\x00\x00'),
])
def test_ipv4_netmask_wire_is_network_order_mask(family, prefix, wire):
    assert values.netmask_to_wire(family, prefix) == wire
    assert values.netmask_from_wire(family, wire) == prefix


@pytest.mark.parametrize('prefix', [1, 48, 64, 128])
def test_ipv6_netmask_wire_is_host_order_prefix_length(prefix):
    import struct
    wire = values.netmask_to_wire('ipv6', prefix)
    assert struct.unpack('=I', wire)[0] == prefix
    assert values.netmask_from_wire('ipv6', wire) == prefix


def test_non_contiguous_ipv4_mask_from_kernel_stays_dotted():
    assert values.netmask_from_wire('ipv4', b'\xff\x00\xff\x00') == '255.0.255.0'


@pytest.mark.parametrize('family, address', [('ipv4', '10.99.1.2'), ('ipv6', 'fd99::2'), ('ipv6', 'fd99:1:2:3:4:5:6:7')])
def test_address_wire_is_16_bytes_and_round_trips(family, address):
    wire = values.address_to_wire(family, address)
    assert len(wire) == 16
    assert values.address_from_wire(family, wire) == address


# --------------------------------------------------------------------------- flags

@pytest.mark.parametrize('params, bits', [
    (dict(), 0),
    (dict(persistence_timeout=10), values.FLAG_PERSISTENT),
    (dict(protocol='udp', one_packet=True), values.FLAG_ONEPACKET),
    (dict(scheduler='sh', sh_fallback=True), values.FLAG_SCHED1),
    (dict(scheduler='sh', sh_port=True), values.FLAG_SCHED2),
    (dict(scheduler='mh', mh_fallback=True), values.FLAG_SCHED1),
    (dict(scheduler='mh', mh_port=True), values.FLAG_SCHED2),
    (dict(scheduler='sh', sh_fallback=True, sh_port=True, persistence_timeout=5), 0x19),
    (dict(protocol='udp', scheduler='mh', mh_port=True, one_packet=True, persistence_timeout=5), 0x15),
])
def test_flags_encode_and_decode_back(params, bits):
    svc = service(**params)
    assert values.encode_flags(svc) == bits
    decoded = values.decode_flags(svc['scheduler'], bits | values.FLAG_HASHED)
    for name in ('one_packet',) + values.SCHEDULER_FLAG_OPTIONS:
        assert decoded[name] == svc[name], name
    assert decoded['persistent'] == bool(svc['persistence_timeout'])
    assert decoded['other_flags'] == 0


def test_scheduler_bits_of_other_schedulers_are_kept_as_other_flags():
    decoded = values.decode_flags('rr', values.FLAG_SCHED1 | values.FLAG_SCHED3 | values.FLAG_HASHED)
    assert decoded['other_flags'] == values.FLAG_SCHED1 | values.FLAG_SCHED3
    assert not decoded['sh_fallback'] and not decoded['mh_fallback']
    # the same bit means sh-fallback under sh and mh-fallback under mh
    assert values.decode_flags('sh', values.FLAG_SCHED1)['sh_fallback']
    assert values.decode_flags('mh', values.FLAG_SCHED1)['mh_fallback']


# --------------------------------------------------------------------------- servers

SVC = None


def svc80():
    return service()


@pytest.mark.parametrize('entry, option, words', [
    (dict(address='fd99::2'), 'servers[0].address', 'address families must match'),
    (dict(address='bogus'), 'servers[0].address', 'not an IPv4 or IPv6'),
    (dict(address='10.99.1.1', port=8080), 'servers[0].port', 'cannot map ports'),
    (dict(address='10.99.1.1', port=8080, forwarding='tun'), 'servers[0].port', 'cannot map ports'),
    (dict(address='10.99.1.1', port=70000, forwarding='nat'), 'servers[0].port', 'out of range'),
    (dict(address='10.99.1.1', port=0, forwarding='nat'), 'servers[0].port', 'service port is 0'),
    (dict(address='10.99.1.1', weight=-1), 'servers[0].weight', 'out of range'),
    (dict(address='10.99.1.1', weight=2 ** 31), 'servers[0].weight', 'out of range'),
    (dict(address='10.99.1.1', weight='heavy'), 'servers[0].weight', 'integer'),
    (dict(address='10.99.1.1', upper_threshold=-5), 'servers[0].upper_threshold', 'out of range'),
    (dict(address='10.99.1.1', lower_threshold=5), 'servers[0].lower_threshold', 'needs upper_threshold'),
    (dict(address='10.99.1.1', upper_threshold=5, lower_threshold=6), 'servers[0].lower_threshold', 'above upper_threshold'),
    (dict(address='10.99.1.1', forwarding='fullnat'), 'servers[0].forwarding', 'not one of'),
    (dict(address='10.99.1.1', tunnel_type='gre'), 'servers[0].tunnel_type', 'only applies to forwarding tun'),
    (dict(address='10.99.1.1', forwarding='nat', tunnel_port=5), 'servers[0].tunnel_port', 'only applies to forwarding tun'),
    (dict(address='10.99.1.1', forwarding='tun', tunnel_type='gue'), 'servers[0].tunnel_port', 'required'),
    (dict(address='10.99.1.1', forwarding='tun', tunnel_type='gue', tunnel_port=0), 'servers[0].tunnel_port', 'out of range'),
    (dict(address='10.99.1.1', forwarding='tun', tunnel_port=6080), 'servers[0].tunnel_port', 'only applies to tunnel_type gue'),
    (dict(address='10.99.1.1', forwarding='tun', tunnel_checksum='csum'), 'servers[0].tunnel_checksum', 'ipip has no checksum'),
    (dict(address='10.99.1.1', forwarding='tun', tunnel_type='gre', tunnel_checksum='remcsum'), 'servers[0].tunnel_checksum', 'gue only'),
    (dict(address='10.99.1.1', forwarding='tun', tunnel_type='vxlan'), 'servers[0].tunnel_type', 'not one of'),
    ('10.99.1.1', 'servers[0]', 'must be a dict'),
])
def test_bad_server_entries_name_the_entry_and_option(entry, option, words):
    with pytest.raises(values.IpvsOptionError) as caught:
        options.servers_from_params([entry], svc80())
    assert caught.value.option == option
    assert str(caught.value).startswith(option + ':')
    assert words in str(caught.value)


def test_duplicate_server_is_refused_with_both_indexes():
    with pytest.raises(values.IpvsOptionError) as caught:
        options.servers_from_params([dict(address='10.99.1.1'), dict(address='10.99.1.2'), dict(address='10.99.1.1', port=80)], svc80())
    assert caught.value.option == 'servers[2]'
    assert 'servers[0]' in str(caught.value)


def test_server_defaults_follow_ipvsadm_and_the_service_port():
    (server,) = options.servers_from_params([dict(address='10.99.1.1')], svc80())
    assert server == dict(address='10.99.1.1', port=80, forwarding='dr', weight=1, upper_threshold=0, lower_threshold=0,
                          tunnel_type=None, tunnel_port=None, tunnel_checksum=None)
    (tunnel,) = options.servers_from_params([dict(address='10.99.1.1', forwarding='tun')], svc80())
    assert (tunnel['tunnel_type'], tunnel['tunnel_port'], tunnel['tunnel_checksum']) == ('ipip', 0, 'nocsum')


def test_fwmark_service_servers_default_to_port_zero_and_nat_may_map():
    fwm = service(address=None, port=None, fwmark=9)
    servers = options.servers_from_params([dict(address='10.99.1.1'), dict(address='10.99.1.2', port=8080, forwarding='nat')], fwm)
    assert [s['port'] for s in servers] == [0, 8080]
    with pytest.raises(values.IpvsOptionError):
        options.servers_from_params([dict(address='10.99.1.1', port=80)], fwm)


def test_absent_entries_are_key_only():
    (server,) = options.servers_from_params([dict(address='10.99.1.1', port=8080, weight=-3)], svc80(), state='absent')
    assert server == dict(address='10.99.1.1', port=8080)


# --------------------------------------------------------------------------- plans

def actual_server(address, port=80, **settings):
    server = dict(address=address, port=port, forwarding='dr', weight=1, upper_threshold=0, lower_threshold=0,
                  tunnel_type=None, tunnel_port=None, tunnel_checksum=None, active_connections=0,
                  inactive_connections=0, persistent_connections=0, family='ipv4')
    server.update(settings)
    return server


def kernel_view(svc, **settings):
    actual = dict(svc)
    actual.update(settings)
    actual.update(flags=values.encode_flags(actual), stats={}, rates={})
    return actual


def test_new_service_adds_service_then_servers():
    svc = svc80()
    servers = options.servers_from_params([dict(address='10.99.1.1'), dict(address='10.99.1.2')], svc)
    ops = plan.plan_service(svc, None, 'present', servers, [])
    assert [op['op'] for op in ops] == ['add_service', 'add_server', 'add_server']


def test_identical_service_plans_nothing():
    svc = service(scheduler='sh', sh_port=True, persistence_timeout=60, persistence_netmask=24)
    servers = options.servers_from_params([dict(address='10.99.1.1', weight=3)], svc)
    ops = plan.plan_service(svc, kernel_view(svc), 'present', servers, [actual_server('10.99.1.1', weight=3)], purge=True)
    assert ops == []


@pytest.mark.parametrize('change', [
    dict(scheduler='rr'),
    dict(persistence_timeout=120, persistence_netmask=32),
    dict(persistence_timeout=None, persistence_netmask=None),
    dict(persistence_netmask=16),
    dict(sh_port=False),
    dict(other_flags=values.FLAG_SCHED3),
])
def test_changed_settings_are_one_in_place_set(change):
    desired = service(scheduler='sh', sh_port=True, persistence_timeout=60, persistence_netmask=24)
    actual = kernel_view(desired, **change)
    ops = plan.plan_service(desired, actual, 'present')
    assert [op['op'] for op in ops] == ['set_service']
    assert 'in place' in ops[0]['text']


def test_server_add_update_remove_and_purge_scope():
    svc = svc80()
    desired = options.servers_from_params([dict(address='10.99.1.1', weight=5), dict(address='10.99.1.3')], svc)
    actual = [actual_server('10.99.1.1', weight=1), actual_server('10.99.1.2')]
    keep = plan.plan_servers(svc, desired, actual, purge=False)
    assert sorted((op['op'], (op.get('new') or op.get('old'))['address']) for op in keep) == [
        ('add_server', '10.99.1.3'), ('set_server', '10.99.1.1')]
    purge = plan.plan_servers(svc, desired, actual, purge=True)
    assert [op['op'] for op in purge][0] == 'del_server'
    assert sorted((op['op'], (op.get('new') or op.get('old'))['address']) for op in purge) == [
        ('add_server', '10.99.1.3'), ('del_server', '10.99.1.2'), ('set_server', '10.99.1.1')]
    # every op is bound to this one service
    assert all(op['service'] is svc for op in purge)


def test_servers_none_leaves_servers_alone_even_with_purge():
    assert plan.plan_servers(svc80(), None, [actual_server('10.99.1.2')], purge=True) == []


def test_absent_and_drained_server_plans():
    svc = svc80()
    actual = [actual_server('10.99.1.1', weight=7, forwarding='nat', port=8080), actual_server('10.99.1.2')]
    keys = options.servers_from_params([dict(address='10.99.1.1', port=8080), dict(address='10.99.1.9')], svc, state='absent')
    removed = plan.plan_servers(svc, keys, actual, state='absent')
    assert [(op['op'], op['old']['address']) for op in removed] == [('del_server', '10.99.1.1')]
    drained = plan.plan_servers(svc, keys, actual, state='drained')
    assert [op['op'] for op in drained] == ['set_server']
    # only the weight changes; forwarding and port stay as the kernel has them
    assert drained[0]['new']['weight'] == 0
    assert drained[0]['new']['forwarding'] == 'nat'
    assert plan.plan_servers(svc, keys, [actual_server('10.99.1.1', weight=0, port=8080)], state='drained') == []


def test_absent_service_removes_it_and_is_noop_when_missing():
    svc = svc80()
    ops = plan.plan_service(svc, kernel_view(svc), 'absent', None, [actual_server('10.99.1.1')])
    assert [op['op'] for op in ops] == ['del_service']
    assert plan.plan_service(svc, None, 'absent') == []


@pytest.mark.parametrize('kind', ['add_service', 'set_service', 'del_service', 'add_server', 'set_server', 'del_server'])
def test_every_operation_has_an_inverse_that_restores_the_prediction(kind):
    svc = svc80()
    other = service(scheduler='rr')
    server = options.servers_from_params([dict(address='10.99.1.1')], svc)[0]
    heavier = dict(server, weight=9)
    op = {
        'add_service': dict(op='add_service', new=svc),
        'set_service': dict(op='set_service', new=other, old=svc),
        'del_service': dict(op='del_service', old=svc, old_servers=[server]),
        'add_server': dict(op='add_server', service=svc, new=heavier),
        'set_server': dict(op='set_server', service=svc, new=heavier, old=server),
        'del_server': dict(op='del_server', service=svc, old=server),
    }[kind]
    undo = plan.inverse(op)
    if kind == 'del_service':
        assert undo['op'] == 'restore_service' and undo['servers'] == [server]
        return
    start_service = None if kind == 'add_service' else svc
    start_servers = [] if kind in ('add_service', 'add_server') else [dict(server)]
    after = plan.apply_ops(start_service, start_servers, [op])
    back = plan.apply_ops(after[0], after[1], [undo])
    assert ipvsadm.render_rules(*back) == ipvsadm.render_rules(start_service, start_servers)


# --------------------------------------------------------------------------- rendering

def test_rules_look_like_ipvsadm_save():
    svc = service(address='10.99.0.1', scheduler='wrr', persistence_timeout=300, persistence_netmask=24)
    servers = options.servers_from_params([
        dict(address='10.99.1.2', port=8080, forwarding='nat', upper_threshold=100, lower_threshold=50),
        dict(address='10.99.1.1', weight=5),
        dict(address='10.99.1.3', forwarding='tun', tunnel_type='gue', tunnel_port=6080, tunnel_checksum='remcsum'),
    ], svc)
    assert ipvsadm.render_rules(svc, servers).splitlines() == [
        '-A -t 10.99.0.1:80 -s wrr -p 300 -M 255.255.255.0',
        '-a -t 10.99.0.1:80 -r 10.99.1.1:80 -g -w 5',
        '-a -t 10.99.0.1:80 -r 10.99.1.2:8080 -m -w 1 -x 100 -y 50',
        '-a -t 10.99.0.1:80 -r 10.99.1.3:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum',
    ]


@pytest.mark.parametrize('params, line', [
    (dict(address=None, port=None, fwmark=7, family='ipv6', scheduler='sh', sh_fallback=True, sh_port=True),
     '-A -f 7 -6 -s sh -b sh-fallback,sh-port'),
    (dict(protocol='udp', address='fd99::1', port=5060, scheduler='mh', mh_port=True, one_packet=True,
          persistence_timeout=60, persistence_netmask=64, persistence_engine='sip'),
     '-A -u [fd99::1]:5060 -s mh -p 60 -M 64 --pe sip -o -b mh-port'),
    (dict(protocol='sctp', address='10.99.0.2', port=3868, scheduler='ovf'), '-A --sctp-service 10.99.0.2:3868 -s ovf'),
])
def test_service_rules(params, line):
    assert ipvsadm.service_rule(service(**params)) == line


def test_absent_renders_empty_and_diff_of_prediction_shows_update():
    svc = svc80()
    assert ipvsadm.render_rules(None, []) == ''
    actual = kernel_view(svc, scheduler='rr')
    ops = plan.plan_service(svc, actual, 'present')
    after, servers = plan.apply_ops(actual, [], ops)
    assert ipvsadm.render_rules(actual, []) == '-A -t 10.99.0.1:80 -s rr\n'
    assert ipvsadm.render_rules(after, servers) == '-A -t 10.99.0.1:80 -s wlc\n'


def test_sort_key_orders_address_services_before_fwmark():
    services = [service(address=None, port=None, fwmark=2), service(address='10.99.0.10'), service(address='10.99.0.9')]
    ordered = sorted(services, key=values.sort_key)
    assert [s['address'] or s['fwmark'] for s in ordered] == ['10.99.0.9', '10.99.0.10', 2]
