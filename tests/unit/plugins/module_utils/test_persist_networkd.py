# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_persist_networkd: which .network file networkd uses for a device, drop-in names and texts, routes in networkd files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _persist as persist
from ansible_collections.lvs.cluster.plugins.module_utils import _persist_networkd as nd
from netvalues import iface, ip, net, route, LO_VIP, DIRECTOR, NAT_ROUTE


# ---------------------------------------------------------------- systemd-networkd


def test_networkd_base_and_dropin_rendering():
    base = nd.render_networkd_base(LO_VIP, 'lo')
    assert '[Match]\nName=lo\n' in base
    assert 'KeepConfiguration=yes\n' in base
    assert 'RequiredForOnline=no\n' in base
    dropin = nd.render_address_dropin(LO_VIP, iface('fd98::1/128'))
    assert dropin.endswith('[Address]\nAddress=fd98::1/128\n')
    assert nd.address_dropin_name(LO_VIP, iface('fd98::1/128')) == 'lvs-vip-fd98--1-128.conf'
    assert nd.address_dropin_name(LO_VIP, iface('10.98.0.1/32')) == 'lvs-vip-10.98.0.1-32.conf'
    assert nd.networkd_base_path('tunl0') == '/etc/systemd/network/05-lvs-cluster-tunl0.network'
    assert nd.networkd_dropin_dir('05-lvs-cluster-lo.network') == '/etc/systemd/network/05-lvs-cluster-lo.network.d'


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
    assert nd.name_match(text, 'lo') == expected


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
    assert nd.networkd_files(root=str(tmp_path)) == [('10-eth0.network', '/run/systemd/network/10-eth0.network')]


def test_networkd_target_defaults_to_our_file(tmp_path):
    _write(tmp_path, '/etc/systemd/network/10-eth0.network', '[Match]\nName=eth0\n')
    files = nd.networkd_files(root=str(tmp_path))
    assert nd.networkd_target('lo', files, root=str(tmp_path)) == ('05-lvs-cluster-lo.network', None)


def test_networkd_target_uses_existing_file_naming_the_device(tmp_path):
    _write(tmp_path, '/usr/lib/systemd/network/50-lo.network', '[Match]\nName=lo\n[Network]\nAddress=10.1.1.1/32\n')
    files = nd.networkd_files(root=str(tmp_path))
    name, note = nd.networkd_target('lo', files, root=str(tmp_path))
    assert name == '50-lo.network'
    assert '50-lo.network' in note


def test_networkd_target_refuses_an_earlier_catch_all(tmp_path):
    _write(tmp_path, '/etc/systemd/network/00-all.network', '[Match]\nName=*\n[Network]\nDHCP=yes\n')
    files = nd.networkd_files(root=str(tmp_path))
    with pytest.raises(persist.PersistError) as err:
        nd.networkd_target('lo', files, root=str(tmp_path))
    assert str(err.value).startswith('persistence: /etc/systemd/network/00-all.network matches lo by a pattern')


def test_networkd_target_takes_over_from_a_later_catch_all(tmp_path):
    _write(tmp_path, '/etc/systemd/network/99-all.network', '[Match]\nName=*\n')
    files = nd.networkd_files(root=str(tmp_path))
    name, note = nd.networkd_target('lo', files, root=str(tmp_path))
    assert name == '05-lvs-cluster-lo.network'
    assert '99-all.network' in note


def test_networkd_target_finds_our_existing_file(tmp_path):
    _write(tmp_path, '/etc/systemd/network/05-lvs-cluster-lo.network', nd.render_networkd_base(LO_VIP, 'lo'))
    _write(tmp_path, '/etc/systemd/network/50-lo.network', '[Match]\nName=lo\n')
    files = nd.networkd_files(root=str(tmp_path))
    assert nd.networkd_target('lo', files, root=str(tmp_path)) == ('05-lvs-cluster-lo.network', None)


def test_networkd_in_use(tmp_path):
    assert not nd.networkd_in_use(str(tmp_path))
    os.makedirs(str(tmp_path) + '/etc/systemd/system/multi-user.target.wants')
    os.symlink('/lib/systemd/system/systemd-networkd.service',
               str(tmp_path) + '/etc/systemd/system/multi-user.target.wants/systemd-networkd.service')
    assert nd.networkd_in_use(str(tmp_path))
    # masked (the host handed over to NetworkManager): not in use, its wants link notwithstanding
    os.symlink('/dev/null', str(tmp_path) + '/etc/systemd/system/systemd-networkd.service')
    assert not nd.networkd_in_use(str(tmp_path))


# ---------------------------------------------------------------- systemd-networkd

def test_networkd_dropin_names_and_rendering():
    default4 = route('0.0.0.0/0', '10.97.1.1')
    prefix6 = route('fd97:200::/64', 'fd97:1::1', metric=50)
    assert nd.route_dropin_name(NAT_ROUTE, default4) == 'lvs-nat-route-default4-m0.conf'
    assert nd.route_dropin_name(NAT_ROUTE, route('::/0', 'fd97:1::1')) == 'lvs-nat-route-default6-m1024.conf'
    assert nd.route_dropin_name(NAT_ROUTE, prefix6) == 'lvs-nat-route-fd97-200---64-m50.conf'
    assert nd.route_dropin_name(NAT_ROUTE, route('10.97.200.0/24', '10.97.1.1')) == 'lvs-nat-route-10.97.200.0-24-m0.conf'
    assert nd.render_route_dropin(NAT_ROUTE, default4, False) == (
        '# Managed by Ansible (lvs.cluster.nat_route)\n[Route]\nDestination=0.0.0.0/0\nGateway=10.97.1.1\n')
    text = nd.render_route_dropin(NAT_ROUTE, prefix6, True)
    assert text.endswith('Gateway=fd97:1::1\nMetric=50\n')
    assert nd.parse_networkd_routes(text) == [(net('fd97:200::/64'), ip('fd97:1::1'), 50)]


def test_parse_networkd_routes_sections_and_network_gateway():
    text = ('[Network]\nAddress=10.10.0.12/24\nGateway=10.10.0.1\n'
            '[Route]\nGateway=10.10.0.254\nMetric=10\n'
            '[Route]\nDestination=10.20.0.0/16\nGateway=10.10.0.2\n')
    assert nd.parse_networkd_routes(text) == [
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
    assert nd.networkd_gives_route(text, net(dst)) == expected


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
    assert nd.sole_name(text, 'eth0') is expected


def test_device_file_is_the_first_file_naming_the_device(tmp_path):
    _write(tmp_path, '/etc/systemd/network/05-mgmt0.network', '[Match]\nName=mgmt0\n')
    _write(tmp_path, '/etc/systemd/network/10-eth0.network', '[Match]\nName=eth0\n[Network]\nAddress=10.10.0.12/24\n')
    _write(tmp_path, '/etc/systemd/network/99-all.network', '[Match]\nName=*\n')
    files = nd.networkd_files(root=str(tmp_path))
    assert nd.networkd_device_file('eth0', files, root=str(tmp_path)) == (
        '10-eth0.network', '/etc/systemd/network/10-eth0.network', [])


def test_device_file_matching_other_links_too_is_refused(tmp_path):
    _write(tmp_path, '/etc/systemd/network/10-lan.network', '[Match]\nName=eth0 eth1\n')
    files = nd.networkd_files(root=str(tmp_path))
    with pytest.raises(persist.PersistError) as err:
        nd.networkd_device_file('eth0', files, root=str(tmp_path))
    assert str(err.value).startswith('persistence: /etc/systemd/network/10-lan.network, the first .network file '
                                     'matching eth0, matches other links too ([Match] Name=eth0 eth1)')


def test_device_file_by_pattern_is_refused(tmp_path):
    _write(tmp_path, '/usr/lib/systemd/network/80-ether.network', '[Match]\nName=e*\n')
    files = nd.networkd_files(root=str(tmp_path))
    with pytest.raises(persist.PersistError, match='Name=e\\*'):
        nd.networkd_device_file('eth0', files, root=str(tmp_path))


def test_no_file_naming_the_device_is_an_error_not_a_new_file(tmp_path):
    _write(tmp_path, '/etc/systemd/network/10-eth1.network', '[Match]\nName=eth1\n')
    files = nd.networkd_files(root=str(tmp_path))
    with pytest.raises(persist.PersistError) as err:
        nd.networkd_device_file('eth0', files, root=str(tmp_path))
    message = str(err.value)
    assert message.startswith('persistence: no .network file names eth0 in [Match] Name=')
    assert 'does not create one' in message and 'persistence=ifupdown or none' in message


def test_files_matching_by_other_properties_are_noted(tmp_path):
    _write(tmp_path, '/etc/systemd/network/01-virtio.network', '[Match]\nDriver=virtio_net\n')
    _write(tmp_path, '/etc/systemd/network/10-eth0.network', '[Match]\nName=eth0\n')
    files = nd.networkd_files(root=str(tmp_path))
    name, _path, notes = nd.networkd_device_file('eth0', files, root=str(tmp_path))
    assert name == '10-eth0.network'
    assert len(notes) == 1 and notes[0].startswith('/etc/systemd/network/01-virtio.network matches links by other')


def test_the_file_networkd_applied_wins_and_is_checked(tmp_path):
    _write(tmp_path, '/run/systemd/netif/links/8', 'ADMIN_STATE=configured\nNETWORK_FILE=/etc/systemd/network/20-uplink.network\n')
    _write(tmp_path, '/etc/systemd/network/10-eth0.network', '[Match]\nName=eth0\n')
    _write(tmp_path, '/etc/systemd/network/20-uplink.network', '[Match]\nName=eth0\n')
    applied = nd.networkd_link_file(8, root=str(tmp_path))
    assert applied == '/etc/systemd/network/20-uplink.network'
    assert nd.networkd_link_file(9, root=str(tmp_path)) is None
    files = nd.networkd_files(root=str(tmp_path))
    assert nd.networkd_device_file('eth0', files, applied, root=str(tmp_path))[:2] == ('20-uplink.network', applied)
    _write(tmp_path, '/etc/systemd/network/20-uplink.network', '[Match]\nDriver=virtio_net\n')
    with pytest.raises(persist.PersistError, match='the file systemd-networkd uses for eth0, does not match it alone'):
        nd.networkd_device_file('eth0', files, applied, root=str(tmp_path))


# ---------------------------------------------------------------- files

def test_director_dropin_is_distinct_from_lo_vip():
    assert nd.address_dropin_name(DIRECTOR, iface('fd97::10/128')) == 'lvs-director-vip-fd97--10-128.conf'
    assert not nd.address_dropin_name(DIRECTOR, iface('10.97.0.10/32')).startswith(LO_VIP.dropin_prefix)
    text = nd.render_address_dropin(DIRECTOR, iface('10.97.0.10/32'))
    assert text == '# Managed by Ansible (lvs.cluster.director_vip)\n[Address]\nAddress=10.97.0.10/32\n'
