# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _vip as vip


def iface(text):
    return ipaddress.ip_interface(text)


# ---------------------------------------------------------------- addresses

def test_addresses_get_host_prefixes_and_compressed_text():
    result = vip.normalize_addresses(['10.98.0.1', 'fd98:0::0001', '10.98.0.2/32', '10.98.0.1'], 'lo')
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
])
def test_bad_addresses_fail_naming_the_option(text, fragment):
    with pytest.raises(vip.VipError) as err:
        vip.normalize_addresses([text], 'lo')
    assert str(err.value).startswith('addresses:')
    assert fragment in str(err.value)


def test_wider_prefix_only_when_allowed():
    result = vip.normalize_addresses(['10.98.0.1/24'], 'lo', allow_non_host_prefix=True)
    assert vip.address_text(result[0]) == '10.98.0.1/24'


def test_same_address_with_two_prefixes_is_an_error():
    with pytest.raises(vip.VipError) as err:
        vip.normalize_addresses(['10.98.0.1/32', '10.98.0.1/24'], 'lo', allow_non_host_prefix=True)
    assert 'given twice with different prefixes' in str(err.value)


@pytest.mark.parametrize('device,text,hint', [('tunl0', 'fd98::1', 'ip6tnl0'), ('ip6tnl0', '10.98.0.1', 'tunl0')])
def test_family_must_fit_the_tunnel_device(device, text, hint):
    with pytest.raises(vip.VipError) as err:
        vip.normalize_addresses([text], device)
    assert str(err.value).startswith('addresses:') and ('device=%s' % hint) in str(err.value)


def test_unknown_device_and_empty_list():
    with pytest.raises(vip.VipError, match='^device:'):
        vip.normalize_addresses(['10.98.0.1'], 'eth0')
    with pytest.raises(vip.VipError, match='^addresses:'):
        vip.normalize_addresses([], 'lo')


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


# ---------------------------------------------------------------- systemd-networkd

def test_networkd_base_and_dropin_rendering():
    base = vip.render_networkd_base('lo')
    assert '[Match]\nName=lo\n' in base
    assert 'KeepConfiguration=yes\n' in base
    assert 'RequiredForOnline=no\n' in base
    dropin = vip.render_networkd_dropin(iface('fd98::1/128'))
    assert dropin.endswith('[Address]\nAddress=fd98::1/128\n')
    assert vip.parse_networkd_addresses(dropin) == [iface('fd98::1/128')]
    assert vip.networkd_dropin_name(iface('fd98::1/128')) == 'lvs-vip-fd98--1-128.conf'
    assert vip.networkd_dropin_name(iface('10.98.0.1/32')) == 'lvs-vip-10.98.0.1-32.conf'
    assert vip.networkd_base_path('tunl0') == '/etc/systemd/network/05-lvs-cluster-tunl0.network'
    assert vip.networkd_dropin_dir('05-lvs-cluster-lo.network') == '/etc/systemd/network/05-lvs-cluster-lo.network.d'


@pytest.mark.parametrize('text,expected', [
    ('[Match]\nName=lo\n', 'exact'),
    ('[Match]\nName=eth0 lo\n', 'exact'),
    ('[Match]\nName=*\n', 'glob'),
    ('[Match]\nName=!eth*\n', 'glob'),
    ('[Match]\nName=!lo\n', None),
    ('[Match]\nName=eth*\n', None),
    ('[Match]\nDriver=virtio_net\n', None),
    ('[Match]\nName=lo\nName=\nName=eth0\n', None),
    ('[Network]\nName=lo\n', None),
])
def test_name_match(text, expected):
    assert vip.name_match(text, 'lo') == expected


def _write(root, path, text):
    full = str(root) + path
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'w') as handle:
        handle.write(text)


def test_networkd_files_precedence_and_masking(tmp_path):
    _write(tmp_path, '/usr/lib/systemd/network/80-x.network', '[Match]\nName=lo\n')
    _write(tmp_path, '/etc/systemd/network/80-x.network', '')  # empty file masks it
    _write(tmp_path, '/run/systemd/network/10-eth0.network', '[Match]\nName=eth0\n')
    _write(tmp_path, '/usr/lib/systemd/network/99-default.link', '[Match]\n')
    assert vip.networkd_files(root=str(tmp_path)) == [('10-eth0.network', '/run/systemd/network/10-eth0.network')]


def test_networkd_target_defaults_to_our_file(tmp_path):
    _write(tmp_path, '/etc/systemd/network/10-eth0.network', '[Match]\nName=eth0\n')
    files = vip.networkd_files(root=str(tmp_path))
    assert vip.networkd_target('lo', files, root=str(tmp_path)) == ('05-lvs-cluster-lo.network', False, None)


def test_networkd_target_uses_existing_file_naming_the_device(tmp_path):
    _write(tmp_path, '/usr/lib/systemd/network/50-lo.network', '[Match]\nName=lo\n[Network]\nAddress=10.1.1.1/32\n')
    files = vip.networkd_files(root=str(tmp_path))
    name, exists, note = vip.networkd_target('lo', files, root=str(tmp_path))
    assert (name, exists) == ('50-lo.network', False)
    assert '50-lo.network' in note


def test_networkd_target_refuses_an_earlier_catch_all(tmp_path):
    _write(tmp_path, '/etc/systemd/network/00-all.network', '[Match]\nName=*\n[Network]\nDHCP=yes\n')
    files = vip.networkd_files(root=str(tmp_path))
    with pytest.raises(vip.VipError) as err:
        vip.networkd_target('lo', files, root=str(tmp_path))
    assert str(err.value).startswith('persistence: /etc/systemd/network/00-all.network matches lo by a pattern')


def test_networkd_target_takes_over_from_a_later_catch_all(tmp_path):
    _write(tmp_path, '/etc/systemd/network/99-all.network', '[Match]\nName=*\n')
    files = vip.networkd_files(root=str(tmp_path))
    name, exists, note = vip.networkd_target('lo', files, root=str(tmp_path))
    assert (name, exists) == ('05-lvs-cluster-lo.network', False)
    assert '99-all.network' in note


def test_networkd_target_finds_our_existing_file(tmp_path):
    _write(tmp_path, '/etc/systemd/network/05-lvs-cluster-lo.network', vip.render_networkd_base('lo'))
    _write(tmp_path, '/etc/systemd/network/50-lo.network', '[Match]\nName=lo\n')
    files = vip.networkd_files(root=str(tmp_path))
    assert vip.networkd_target('lo', files, root=str(tmp_path)) == ('05-lvs-cluster-lo.network', True, None)


def test_networkd_in_use(tmp_path):
    assert not vip.networkd_in_use(str(tmp_path))
    os.makedirs(str(tmp_path) + '/etc/systemd/system/multi-user.target.wants')
    os.symlink('/lib/systemd/system/systemd-networkd.service',
               str(tmp_path) + '/etc/systemd/system/multi-user.target.wants/systemd-networkd.service')
    assert vip.networkd_in_use(str(tmp_path))
    assert vip.detect_persistence(str(tmp_path)) == 'networkd'


# ---------------------------------------------------------------- ifupdown

def test_ifupdown_render_one_stanza_per_address_sorted_and_parse_back():
    text = vip.render_ifupdown('lo', [iface('fd98::1/128'), iface('10.98.0.2/32'), iface('10.98.0.1/32')])
    assert text.splitlines()[1:] == [
        'auto lo',
        'iface lo inet static', '    address 10.98.0.1/32',
        'iface lo inet static', '    address 10.98.0.2/32',
        'iface lo inet6 static', '    address fd98::1/128',
    ]
    assert vip.parse_ifupdown(text, 'lo') == [iface('10.98.0.1/32'), iface('10.98.0.2/32'), iface('fd98::1/128')]
    assert vip.parse_ifupdown(text, 'tunl0') == []


def test_ifupdown_auto_line_and_empty_list_means_no_file():
    assert vip.render_ifupdown('tunl0', [iface('10.98.0.1/32')]).splitlines()[1] == 'auto tunl0'
    assert vip.render_ifupdown('lo', [iface('10.98.0.1/32')]).splitlines()[1] == 'auto lo'
    assert vip.render_ifupdown('lo', []) is None
    assert vip.ifupdown_path('lo') == '/etc/network/interfaces.d/lvs-cluster-vip-lo'
    assert '.' not in os.path.basename(vip.ifupdown_path('tunl0'))


@pytest.mark.parametrize('text,expected', [
    ('auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/*\n', True),
    ('source-directory /etc/network/interfaces.d\n', True),
    ('source-directory interfaces.d\n', True),
    ('auto lo\niface lo inet loopback\n', False),
    (None, False),
])
def test_ifupdown_sources_dir(text, expected):
    assert vip.ifupdown_sources_dir(text) is expected


def test_ifupdown_in_use_needs_interfaces_and_ifup(tmp_path):
    _write(tmp_path, '/etc/network/interfaces', 'auto lo\n')
    assert not vip.ifupdown_in_use(str(tmp_path))
    _write(tmp_path, '/sbin/ifup', '')
    assert vip.ifupdown_in_use(str(tmp_path))
    assert vip.detect_persistence(str(tmp_path)) == 'ifupdown'
