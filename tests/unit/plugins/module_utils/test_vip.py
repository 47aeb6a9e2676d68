# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_vip: virtual IP address rules, device checks and the address plan."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _vip as vip
from netvalues import iface


# ---------------------------------------------------------------- addresses

def test_addresses_get_host_prefixes_and_compressed_text():
    result = vip.normalize_addresses(['10.98.0.1', 'fd98:0::0001', '10.98.0.2/32', '10.98.0.1'], device='lo')
    assert [vip.address_text(i) for i in result] == ['10.98.0.1/32', 'fd98::1/128', '10.98.0.2/32']


@pytest.mark.parametrize('text,fragment', [
    ('10.98.0.300', 'is not an IPv4 or IPv6 address'),
    ('vip', 'is not an IPv4 or IPv6 address'),
    ('', 'non-empty string'),
    ('0.0.0.0', 'cannot be a virtual IP'),
    ('127.0.0.2', 'cannot be a virtual IP'),
    ('::1', 'cannot be a virtual IP'),
    ('224.0.0.1', 'cannot be a virtual IP'),
    ('fe80::1', 'cannot be a virtual IP'),
    ('::ffff:10.98.0.1', 'IPv4-mapped'),
    ('10.98.0.1/24', 'is not a host address (/32)'),
    ('fd98::1/64', 'is not a host address (/128)'),
    ('[fd98::1]', 'is in brackets; give the IPv6 address without them'),
    ('[fd98::1]/128', 'is in brackets'),
])
def test_bad_addresses_fail_naming_the_option(text, fragment):
    with pytest.raises(vip.VipError) as err:
        vip.normalize_addresses([text], device='lo')
    assert str(err.value).startswith('addresses:')
    assert fragment in str(err.value)


def test_wider_prefix_only_when_allowed():
    result = vip.normalize_addresses(['10.98.0.1/24'], True, 'lo')
    assert vip.address_text(result[0]) == '10.98.0.1/24'


def test_same_address_with_two_prefixes_is_an_error():
    with pytest.raises(vip.VipError) as err:
        vip.normalize_addresses(['10.98.0.1/32', '10.98.0.1/24'], True, 'lo')
    assert 'given twice with different prefixes' in str(err.value)


@pytest.mark.parametrize('device,text,hint', [('tunl0', 'fd98::1', 'ip6tnl0'), ('ip6tnl0', '10.98.0.1', 'tunl0')])
def test_family_must_fit_the_tunnel_device(device, text, hint):
    with pytest.raises(vip.VipError) as err:
        vip.normalize_addresses([text], device=device)
    assert str(err.value).startswith('addresses:') and ('device=%s' % hint) in str(err.value)


def test_unknown_device_and_empty_list():
    with pytest.raises(vip.VipError, match='^device:'):
        vip.normalize_addresses(['10.98.0.1'], device='eth0')
    with pytest.raises(vip.VipError, match='^addresses:'):
        vip.normalize_addresses([], device='lo')


def test_missing_tunnel_device_names_the_kernel_module():
    assert vip.missing_device_message('tunl0').startswith(
        'device: tunl0 does not exist: the ipip kernel module is not loaded (modprobe ipip')
    assert 'ip6_tunnel kernel module' in vip.missing_device_message('ip6tnl0')


def test_plan_present_adds_missing_and_replaces_other_prefix():
    current = [iface('127.0.0.1/8'), iface('10.98.0.1/24'), iface('10.98.0.2/32')]
    wanted = [iface('10.98.0.1/32'), iface('10.98.0.2/32')]
    add, remove = vip.plan_addresses(current, wanted, 'present')
    assert add == [iface('10.98.0.1/32')]
    assert remove == [iface('10.98.0.1/24')]


def test_plan_absent_removes_any_prefix_and_is_idempotent():
    current = [iface('127.0.0.1/8'), iface('10.98.0.1/24')]
    assert vip.plan_addresses(current, [iface('10.98.0.1/32')], 'absent') == ([], [iface('10.98.0.1/24')])
    assert vip.plan_addresses(current, [iface('10.98.0.9/32')], 'absent') == ([], [])


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
    result = vip.normalize_addresses(['10.97.0.10', 'fd97::10', '10.97.0.10/32'])
    assert [vip.address_text(i) for i in result] == ['10.97.0.10/32', 'fd97::10/128']
    with pytest.raises(vip.VipError, match='^addresses: at least one'):
        vip.normalize_addresses([])
    with pytest.raises(vip.VipError, match='given twice with different prefixes'):
        vip.normalize_addresses(['10.97.0.1/32', '10.97.0.1/24'], allow_non_host_prefix=True)
    with pytest.raises(vip.VipError, match='is not a host address'):
        vip.normalize_addresses(['10.97.0.1/24'])
