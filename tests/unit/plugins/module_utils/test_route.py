# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_route: gateway, destination and metric validation, device choice, route planning."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _route as rt
from ansible_collections.lvs.cluster.plugins.module_utils._rtnetlink import Route
from netvalues import ip, net, route


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
    ('[fd97:1::1]', "gateway: '[fd97:1::1]' is in brackets"),
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
    assert rt.route_text(Route(net('10.0.0.0/8'), 0, None, None)) == '10.0.0.0/8 metric 0'


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
    unknown_device = Route(ours.dst, ours.metric, ours.gateway, None)
    assert rt.plan_routes([ours], [unknown_device], 'absent') == ([], [ours], [])
