# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_route: validation, device choice, planning, networkd and ifupdown files, what the host's
own configuration gives for a destination. Also the director_vip additions to _vip (device
checks, the .network file of a real device, director drop-ins and ifupdown stanzas, gratuitous
ARP frames): they live here because a module_utils test_director_vip.py would clash with the
module test of the same basename under pytest's default import mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import struct

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _route as rt
from ansible_collections.lvs.cluster.plugins.module_utils import _vip as vip


def ip(text):
    return ipaddress.ip_address(text)


def net(text):
    return ipaddress.ip_network(text)


def route(dst, gateway, device='natdum0', metric=None):
    dst = net(dst)
    return rt.Route(dst, rt.DEFAULT_METRIC[dst.version] if metric is None else metric,
                    ip(gateway) if gateway else None, device)


ADDRESSES = [
    ('lo', ipaddress.ip_interface('127.0.0.1/8')),
    ('eth0', ipaddress.ip_interface('10.10.0.12/24')),
    ('eth0', ipaddress.ip_interface('10.97.0.10/32')),
    ('natdum0', ipaddress.ip_interface('10.97.1.2/24')),
    ('natdum0', ipaddress.ip_interface('fd97:1::2/64')),
    ('natdum0', ipaddress.ip_interface('fe80::1/64')),
    ('natdum1', ipaddress.ip_interface('10.97.0.2/16')),
    ('natdum2', ipaddress.ip_interface('fe80::2/64')),
]


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize('text,fragment', [
    ('10.97.1.300', "gateway: '10.97.1.300' is not an IPv4 or IPv6 address"),
    ('10.97.1.1/24', "gateway: '10.97.1.1/24' is not an IPv4 or IPv6 address"),
    ('', 'gateway: the director\'s inside address is required'),
    (None, 'gateway: the director\'s inside address is required'),
    ('0.0.0.0', 'gateway: 0.0.0.0 cannot be a gateway'),
    ('::1', 'gateway: ::1 cannot be a gateway'),
    ('224.0.0.1', 'cannot be a gateway'),
    ('::ffff:10.97.1.1', 'IPv4-mapped'),
    ('255.255.255.255', 'cannot be a gateway'),
])
def test_bad_gateways(text, fragment):
    with pytest.raises(rt.VipError) as err:
        rt.normalize_gateway(text)
    assert fragment in str(err.value)


def test_destinations_default_by_family_dedup_and_host_routes():
    assert rt.normalize_destinations(['default', 'DEFAULT', '0.0.0.0/0'], ip('10.97.1.1')) == [net('0.0.0.0/0')]
    assert rt.normalize_destinations(['default'], ip('fd97:1::1')) == [net('::/0')]
    assert rt.normalize_destinations(['10.97.200.0/24', '10.97.211.7'], ip('10.97.1.1')) == [
        net('10.97.200.0/24'), net('10.97.211.7/32')]


@pytest.mark.parametrize('texts,gateway,fragment', [
    ([], '10.97.1.1', 'destinations: at least one destination'),
    ([''], '10.97.1.1', 'destinations: a destination must be a non-empty string'),
    (['10.97.200.1/24'], '10.97.1.1', "destinations: '10.97.200.1/24' is not an IPv4 or IPv6 prefix (host bits"),
    (['fd97::/64'], '10.97.1.1', 'destinations: fd97::/64 is IPv6 but the gateway 10.97.1.1 is IPv4'),
    (['10.97.0.0/16'], 'fd97:1::1', 'destinations: 10.97.0.0/16 is IPv4 but the gateway fd97:1::1 is IPv6'),
    (['10.97.1.0/25'], '10.97.1.1', 'destinations: 10.97.1.0/25 holds the gateway 10.97.1.1'),
    (['224.0.0.0/4'], '10.97.1.1', 'multicast'),
])
def test_bad_destinations(texts, gateway, fragment):
    with pytest.raises(rt.VipError) as err:
        rt.normalize_destinations(texts, ip(gateway))
    assert fragment in str(err.value)


def test_metric():
    assert rt.normalize_metric(None, 4) == 0
    assert rt.normalize_metric(None, 6) == 1024
    assert rt.normalize_metric(4294967295, 4) == 4294967295
    for bad in (-1, 4294967296, True, '5'):
        with pytest.raises(rt.VipError, match='^metric: must be an integer from 0 to 4294967295'):
            rt.normalize_metric(bad, 4)


def test_route_text():
    assert rt.route_text(route('0.0.0.0/0', '10.97.1.1')) == 'default via 10.97.1.1 dev natdum0 metric 0'
    assert rt.route_text(route('fd97:200::/64', 'fd97:1::1', metric=5)) == 'fd97:200::/64 via fd97:1::1 dev natdum0 metric 5'
    assert rt.route_text(rt.Route(net('10.0.0.0/8'), 0, None, None)) == '10.0.0.0/8 metric 0'


# ---------------------------------------------------------------- device choice

def test_device_is_derived_from_the_connected_subnet_longest_prefix_first():
    assert rt.choose_device(ip('10.97.1.1'), ADDRESSES) == 'natdum0'   # /24 on natdum0 beats /16 on natdum1
    assert rt.choose_device(ip('10.97.3.1'), ADDRESSES) == 'natdum1'
    assert rt.choose_device(ip('fd97:1::1'), ADDRESSES) == 'natdum0'
    assert rt.choose_device(ip('fe80::9'), ADDRESSES, 'natdum2') == 'natdum2'


@pytest.mark.parametrize('gateway,device,fragment', [
    ('10.97.1.2', None, 'gateway: 10.97.1.2 is an address of this host (on natdum0)'),
    ('10.97.0.10', None, 'gateway: 10.97.0.10 is an address of this host (on eth0)'),
    ('10.97.1.255', None, 'gateway: 10.97.1.255 is the network or broadcast address of 10.97.1.0/24 on natdum0'),
    ('192.0.2.1', None, 'gateway: no device of this host has a connected subnet holding 192.0.2.1'),
    ('10.97.1.1', 'eth0', 'gateway: 10.97.1.1 is not in a subnet connected to eth0 (eth0 has 10.10.0.12/24, 10.97.0.10/32)'),
    ('fe80::9', None, 'device: fe80::9 is in a connected subnet of several devices (natdum0, natdum2); set device'),
])
def test_device_choice_errors(gateway, device, fragment):
    with pytest.raises(rt.VipError) as err:
        rt.choose_device(ip(gateway), ADDRESSES, device)
    assert fragment in str(err.value)


# ---------------------------------------------------------------- planning

def test_plan_present_sets_missing_replaces_other_gateway_and_is_idempotent():
    host_default = route('0.0.0.0/0', '10.97.2.254', 'natdum1')
    other_metric = route('0.0.0.0/0', '10.97.2.254', 'natdum1', metric=100)
    wanted = [route('0.0.0.0/0', '10.97.1.1')]
    assert rt.plan_routes([host_default, other_metric], wanted, 'present') == (wanted, [], [host_default])
    assert rt.plan_routes([wanted[0], other_metric], wanted, 'present') == ([], [], [])
    assert rt.plan_routes([other_metric], wanted, 'present') == (wanted, [], [])


def test_plan_absent_deletes_only_via_our_gateway():
    ours = route('0.0.0.0/0', '10.97.1.1')
    theirs = route('0.0.0.0/0', '10.97.2.254', 'natdum1')
    assert rt.plan_routes([ours], [ours], 'absent') == ([], [ours], [])
    assert rt.plan_routes([theirs], [ours], 'absent') == ([], [], [])
    unknown_device = rt.Route(ours.dst, ours.metric, ours.gateway, None)
    assert rt.plan_routes([ours], [unknown_device], 'absent') == ([], [ours], [])


# ---------------------------------------------------------------- systemd-networkd

def test_networkd_dropin_names_and_rendering():
    default4 = route('0.0.0.0/0', '10.97.1.1')
    prefix6 = route('fd97:200::/64', 'fd97:1::1', metric=50)
    assert rt.networkd_dropin_name(default4) == 'lvs-nat-route-default4-m0.conf'
    assert rt.networkd_dropin_name(route('::/0', 'fd97:1::1')) == 'lvs-nat-route-default6-m1024.conf'
    assert rt.networkd_dropin_name(prefix6) == 'lvs-nat-route-fd97-200---64-m50.conf'
    assert rt.networkd_dropin_glob(net('10.97.200.0/24'), 0) == 'lvs-nat-route-10.97.200.0-24-m0.conf'
    assert rt.render_networkd_dropin(default4, False) == (
        '# Managed by Ansible (lvs.cluster.nat_route)\n[Route]\nDestination=0.0.0.0/0\nGateway=10.97.1.1\n')
    text = rt.render_networkd_dropin(prefix6, True)
    assert text.endswith('Gateway=fd97:1::1\nMetric=50\n')
    assert rt.parse_networkd_routes(text) == [(net('fd97:200::/64'), ip('fd97:1::1'), 50)]


def test_parse_networkd_routes_sections_and_network_gateway():
    text = ('[Network]\nAddress=10.10.0.12/24\nGateway=10.10.0.1\n'
            '[Route]\nGateway=10.10.0.254\nMetric=10\n'
            '[Route]\nDestination=10.20.0.0/16\nGateway=10.10.0.2\n')
    assert rt.parse_networkd_routes(text) == [
        (None, ip('10.10.0.1'), None), (None, ip('10.10.0.254'), 10), (net('10.20.0.0/16'), ip('10.10.0.2'), None)]


@pytest.mark.parametrize('text,dst,expected', [
    ('[Network]\nGateway=10.10.0.1\n', '0.0.0.0/0', 'a route to default (Gateway=10.10.0.1)'),
    ('[Route]\nGateway=10.97.2.254\nMetric=9797\n', '0.0.0.0/0', 'a route to default (Gateway=10.97.2.254)'),
    ('[Route]\nDestination=0.0.0.0/0\nGateway=10.97.2.254\n', '0.0.0.0/0', 'a route to default (Gateway=10.97.2.254)'),
    ('[Network]\nGateway=10.10.0.1\n', '::/0', None),
    ('[Network]\nDHCP=yes\n', '0.0.0.0/0', 'DHCP=yes'),
    ('[Network]\nDHCP=ipv6\n', '0.0.0.0/0', None),
    ('[Network]\nDHCP=ipv6\n', '::/0', 'DHCP=ipv6'),
    ('[Network]\nIPv6AcceptRA=yes\n', '::/0', 'IPv6AcceptRA=yes'),
    ('[Route]\nDestination=10.97.200.0/24\nGateway=10.10.0.1\n', '10.97.200.0/24', 'a route to 10.97.200.0/24 (Gateway=10.10.0.1)'),
    ('[Route]\nDestination=10.97.200.0/24\nGateway=10.10.0.1\n', '0.0.0.0/0', None),
    ('[Network]\nAddress=10.10.0.12/24\n', '0.0.0.0/0', None),
])
def test_networkd_gives_route(text, dst, expected):
    assert rt.networkd_gives_route(text, net(dst)) == expected


# ---------------------------------------------------------------- ifupdown

def test_ifupdown_render_and_parse_back():
    routes = [route('fd97:200::/64', 'fd97:1::1'), route('10.97.211.0/24', '10.97.1.1', metric=50),
              route('0.0.0.0/0', '10.97.1.1')]
    text = rt.render_ifupdown('natdum0', routes)
    assert text.splitlines()[1:] == [
        'iface natdum0 inet manual',
        '    up ip route replace 0.0.0.0/0 via 10.97.1.1 dev natdum0 metric 0',
        '    down ip route del 0.0.0.0/0 via 10.97.1.1 dev natdum0 metric 0 || true',
        '    up ip route replace 10.97.211.0/24 via 10.97.1.1 dev natdum0 metric 50',
        '    down ip route del 10.97.211.0/24 via 10.97.1.1 dev natdum0 metric 50 || true',
        'iface natdum0 inet6 manual',
        '    up ip -6 route replace fd97:200::/64 via fd97:1::1 dev natdum0 metric 1024',
        '    down ip -6 route del fd97:200::/64 via fd97:1::1 dev natdum0 metric 1024 || true',
    ]
    assert set(rt.parse_ifupdown(text, 'natdum0')) == set(routes)
    assert rt.parse_ifupdown(text, 'eth0') == []
    assert rt.render_ifupdown('natdum0', []) is None
    assert rt.ifupdown_path('eth0.5') == '/etc/network/interfaces.d/lvs-cluster-nat-route-eth0_5'


def test_ifupdown_gateways_of_static_stanzas():
    text = ('auto eth0\niface eth0 inet static\n    address 10.10.0.12/24\n    gateway 10.10.0.1\n'
            'iface eth0 inet6 static\n    address fd97:1::2/64\n    gateway fd97:1::fe\n    metric 7\n'
            'iface eth1 inet dhcp\n'
            'iface eth2 inet static\n    address 10.30.0.2/24\n')
    assert rt.ifupdown_gateways(text) == [
        route('0.0.0.0/0', '10.10.0.1', 'eth0'), route('::/0', 'fd97:1::fe', 'eth0', metric=7)]


# ================================================================ director_vip helpers in _vip

def iface(text):
    return ipaddress.ip_interface(text)


def _write(root, path, text):
    full = str(root) + path
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'w') as handle:
        handle.write(text)


# ---------------------------------------------------------------- devices and addresses

@pytest.mark.parametrize('device', ['lo', 'tunl0', 'ip6tnl0'])
def test_real_server_devices_point_at_lo_vip(device):
    with pytest.raises(vip.VipError) as err:
        vip.check_real_device(device)
    assert str(err.value).startswith('device: %s is a real server device' % device)
    assert 'lvs.cluster.lo_vip' in str(err.value)


@pytest.mark.parametrize('device', ['', 'a' * 16, 'bad/name', 'eth0 1', '.', 'eth0:1'])
def test_bad_device_names(device):
    with pytest.raises(vip.VipError, match='^device:'):
        vip.check_real_device(device)


def test_good_device_names_and_lo_without_hint():
    assert vip.check_real_device('eth0.100') == 'eth0.100'
    assert vip.check_real_device('lo', module_hint=False) == 'lo'


def test_director_addresses_take_both_families_and_deduplicate():
    result = vip.normalize_director_addresses(['10.97.0.10', 'fd97::10', '10.97.0.10/32'])
    assert [vip.address_text(i) for i in result] == ['10.97.0.10/32', 'fd97::10/128']
    with pytest.raises(vip.VipError, match='^addresses: at least one'):
        vip.normalize_director_addresses([])
    with pytest.raises(vip.VipError, match='given twice with different prefixes'):
        vip.normalize_director_addresses(['10.97.0.1/32', '10.97.0.1/24'], allow_non_host_prefix=True)
    with pytest.raises(vip.VipError, match='is not a host address'):
        vip.normalize_director_addresses(['10.97.0.1/24'])


# ---------------------------------------------------------------- the .network file of a real device

@pytest.mark.parametrize('text,expected', [
    ('[Match]\nName=eth0\n', True),
    ('[Match]\nName=eth0 eth1\n', False),
    ('[Match]\nName=eth*\n', False),
    ('[Match]\nName=!eth1\n', False),
    ('[Match]\nDriver=virtio_net\n', False),
    ('[Match]\nName=eth1\nName=\nName=eth0\n', True),
])
def test_sole_name(text, expected):
    assert vip.sole_name(text, 'eth0') is expected


def test_device_file_is_the_first_file_naming_the_device(tmp_path):
    _write(tmp_path, '/etc/systemd/network/05-mgmt0.network', '[Match]\nName=mgmt0\n')
    _write(tmp_path, '/etc/systemd/network/10-eth0.network', '[Match]\nName=eth0\n[Network]\nAddress=10.10.0.12/24\n')
    _write(tmp_path, '/etc/systemd/network/99-all.network', '[Match]\nName=*\n')
    files = vip.networkd_files(root=str(tmp_path))
    assert vip.networkd_device_file('eth0', files, root=str(tmp_path)) == (
        '10-eth0.network', '/etc/systemd/network/10-eth0.network', [])


def test_device_file_matching_other_links_too_is_refused(tmp_path):
    _write(tmp_path, '/etc/systemd/network/10-lan.network', '[Match]\nName=eth0 eth1\n')
    files = vip.networkd_files(root=str(tmp_path))
    with pytest.raises(vip.VipError) as err:
        vip.networkd_device_file('eth0', files, root=str(tmp_path))
    assert str(err.value).startswith('persistence: /etc/systemd/network/10-lan.network, the first .network file '
                                     'matching eth0, matches other links too ([Match] Name=eth0 eth1)')


def test_device_file_by_pattern_is_refused(tmp_path):
    _write(tmp_path, '/usr/lib/systemd/network/80-ether.network', '[Match]\nName=e*\n')
    files = vip.networkd_files(root=str(tmp_path))
    with pytest.raises(vip.VipError, match='Name=e\\*'):
        vip.networkd_device_file('eth0', files, root=str(tmp_path))


def test_no_file_naming_the_device_is_an_error_not_a_new_file(tmp_path):
    _write(tmp_path, '/etc/systemd/network/10-eth1.network', '[Match]\nName=eth1\n')
    files = vip.networkd_files(root=str(tmp_path))
    with pytest.raises(vip.VipError) as err:
        vip.networkd_device_file('eth0', files, root=str(tmp_path))
    message = str(err.value)
    assert message.startswith('persistence: no .network file names eth0 in [Match] Name=')
    assert 'does not create one' in message and 'persistence=ifupdown or none' in message


def test_files_matching_by_other_properties_are_noted(tmp_path):
    _write(tmp_path, '/etc/systemd/network/01-virtio.network', '[Match]\nDriver=virtio_net\n')
    _write(tmp_path, '/etc/systemd/network/10-eth0.network', '[Match]\nName=eth0\n')
    files = vip.networkd_files(root=str(tmp_path))
    name, _path, notes = vip.networkd_device_file('eth0', files, root=str(tmp_path))
    assert name == '10-eth0.network'
    assert len(notes) == 1 and notes[0].startswith('/etc/systemd/network/01-virtio.network matches links by other')


def test_the_file_networkd_applied_wins_and_is_checked(tmp_path):
    _write(tmp_path, '/run/systemd/netif/links/8', 'ADMIN_STATE=configured\nNETWORK_FILE=/etc/systemd/network/20-uplink.network\n')
    _write(tmp_path, '/etc/systemd/network/10-eth0.network', '[Match]\nName=eth0\n')
    _write(tmp_path, '/etc/systemd/network/20-uplink.network', '[Match]\nName=eth0\n')
    applied = vip.networkd_link_file(8, root=str(tmp_path))
    assert applied == '/etc/systemd/network/20-uplink.network'
    assert vip.networkd_link_file(9, root=str(tmp_path)) is None
    files = vip.networkd_files(root=str(tmp_path))
    assert vip.networkd_device_file('eth0', files, applied, root=str(tmp_path))[:2] == ('20-uplink.network', applied)
    _write(tmp_path, '/etc/systemd/network/20-uplink.network', '[Match]\nDriver=virtio_net\n')
    with pytest.raises(vip.VipError, match='the file systemd-networkd uses for eth0, does not match it alone'):
        vip.networkd_device_file('eth0', files, applied, root=str(tmp_path))


# ---------------------------------------------------------------- files

def test_director_dropin_is_distinct_from_lo_vip():
    assert vip.director_dropin_name(iface('fd97::10/128')) == 'lvs-director-vip-fd97--10-128.conf'
    assert not vip.director_dropin_name(iface('10.97.0.10/32')).startswith(vip.NETWORKD_DROPIN_PREFIX)
    text = vip.render_director_dropin(iface('10.97.0.10/32'))
    assert text == '# Managed by Ansible (lvs.cluster.director_vip)\n[Address]\nAddress=10.97.0.10/32\n'
    assert vip.parse_networkd_addresses(text) == [iface('10.97.0.10/32')]


def test_director_ifupdown_has_no_auto_line_and_parses_back():
    text = vip.render_director_ifupdown('eth0', [iface('fd97::10/128'), iface('10.97.0.10/32')])
    assert text.splitlines()[1:] == ['iface eth0 inet static', '    address 10.97.0.10/32',
                                     'iface eth0 inet6 static', '    address fd97::10/128']
    assert vip.parse_ifupdown(text, 'eth0') == [iface('10.97.0.10/32'), iface('fd97::10/128')]
    assert vip.render_director_ifupdown('eth0', []) is None
    assert vip.director_ifupdown_path('eth0.100') == '/etc/network/interfaces.d/lvs-cluster-director-vip-eth0_100'


@pytest.mark.parametrize('text,expected', [
    ('auto lo eth0\niface eth0 inet dhcp\n', True),
    ('allow-hotplug eth0\n', True),
    ('iface eth0 inet dhcp\n', False),
    ('auto eth00\n', False),
])
def test_ifupdown_brings_up(text, expected):
    assert vip.ifupdown_brings_up('eth0', [None, text]) is expected


# ---------------------------------------------------------------- gratuitous ARP

def test_gratuitous_arp_frames():
    mac = b'\x02\x00\x00\x97\x00\x01'
    request, reply = vip.garp_frames(mac, '10.97.0.10')
    ip = bytes([10, 97, 0, 10])
    for frame in (request, reply):
        assert len(frame) == 60
        assert frame[:6] == b'\xff' * 6 and frame[6:12] == mac
        assert struct.unpack('!H', frame[12:14])[0] == 0x0806
        hardware, protocol, hlen, plen = struct.unpack('!HHBB', frame[14:20])
        assert (hardware, protocol, hlen, plen) == (1, 0x0800, 6, 4)
        assert frame[22:28] == mac and frame[28:32] == ip and frame[38:42] == ip
    assert struct.unpack('!H', request[20:22])[0] == 1 and request[32:38] == b'\x00' * 6
    assert struct.unpack('!H', reply[20:22])[0] == 2 and reply[32:38] == b'\xff' * 6
