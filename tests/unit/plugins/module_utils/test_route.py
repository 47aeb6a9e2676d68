# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_route: validation, device choice, planning, networkd and ifupdown files, what the host's
own configuration gives for a destination."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _route as rt


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
