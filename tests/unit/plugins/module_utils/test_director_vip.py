# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The director_vip additions to _vip: device checks, the .network file of a real device,
director drop-ins and ifupdown stanzas, gratuitous ARP frames."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import struct

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _vip as vip


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
