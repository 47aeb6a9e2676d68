# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_persist_ifupdown: the probe, address stanzas, route lines and the host's own gateways."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _persist_ifupdown as ifu
from netvalues import iface, route, LO_VIP, DIRECTOR, NAT_ROUTE


def _write(root, path, text):
    full = str(root) + path
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'w') as handle:
        handle.write(text)


def test_ifupdown_render_one_stanza_per_address_sorted_and_parse_back():
    text = ifu.render_addresses(LO_VIP, 'lo', [iface('fd98::1/128'), iface('10.98.0.2/32'), iface('10.98.0.1/32')])
    assert text.splitlines()[1:] == [
        'auto lo',
        'iface lo inet static', '    address 10.98.0.1/32',
        'iface lo inet static', '    address 10.98.0.2/32',
        'iface lo inet6 static', '    address fd98::1/128',
    ]
    assert ifu.parse_addresses(text, 'lo') == [iface('10.98.0.1/32'), iface('10.98.0.2/32'), iface('fd98::1/128')]
    assert ifu.parse_addresses(text, 'tunl0') == []


def test_ifupdown_auto_line_and_empty_list_means_no_file():
    assert ifu.render_addresses(LO_VIP, 'tunl0', [iface('10.98.0.1/32')]).splitlines()[1] == 'auto tunl0'
    assert ifu.render_addresses(LO_VIP, 'lo', [iface('10.98.0.1/32')]).splitlines()[1] == 'auto lo'
    assert ifu.render_addresses(LO_VIP, 'lo', []) is None
    assert ifu.ifupdown_path(LO_VIP, 'lo') == '/etc/network/interfaces.d/lvs-cluster-vip-lo'
    assert '.' not in os.path.basename(ifu.ifupdown_path(LO_VIP, 'tunl0'))


@pytest.mark.parametrize('text,expected', [
    ('auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/*\n', True),
    ('source-directory /etc/network/interfaces.d\n', True),
    ('source-directory interfaces.d\n', True),
    ('auto lo\niface lo inet loopback\n', False),
    (None, False),
])
def test_ifupdown_sources_dir(text, expected):
    assert ifu.ifupdown_sources_dir(text) is expected


def test_ifupdown_in_use_needs_interfaces_ifup_and_networking_enabled(tmp_path):
    root = str(tmp_path)
    _write(tmp_path, '/etc/network/interfaces', 'auto lo\n')
    assert not ifu.ifupdown_in_use(root)
    _write(tmp_path, '/sbin/ifup', '')
    assert not ifu.ifupdown_in_use(root)  # installed, but nothing runs it at boot
    assert 'does not run ifupdown' in ifu.BACKEND.unusable(root)
    os.makedirs(root + '/etc/systemd/system/multi-user.target.wants')
    os.symlink('/lib/systemd/system/networking.service', root + ifu.ENABLED_LINKS[0])
    assert ifu.ifupdown_in_use(root)
    assert 'does not read /etc/network/interfaces.d' in ifu.BACKEND.unusable(root)
    _write(tmp_path, '/etc/network/interfaces', 'source /etc/network/interfaces.d/*\n')
    assert ifu.BACKEND.unusable(root) is None


def test_director_ifupdown_has_no_auto_line_and_parses_back():
    text = ifu.render_addresses(DIRECTOR, 'eth0', [iface('fd97::10/128'), iface('10.97.0.10/32')])
    assert text.splitlines()[1:] == ['iface eth0 inet static', '    address 10.97.0.10/32',
                                     'iface eth0 inet6 static', '    address fd97::10/128']
    assert ifu.parse_addresses(text, 'eth0') == [iface('10.97.0.10/32'), iface('fd97::10/128')]
    assert ifu.render_addresses(DIRECTOR, 'eth0', []) is None
    assert ifu.ifupdown_path(DIRECTOR, 'eth0.100') == '/etc/network/interfaces.d/lvs-cluster-director-vip-eth0_100'


def test_ifupdown_render_and_parse_back():
    routes = [route('fd97:200::/64', 'fd97:1::1'), route('10.97.211.0/24', '10.97.1.1', metric=50),
              route('0.0.0.0/0', '10.97.1.1')]
    text = ifu.render_routes(NAT_ROUTE, 'natdum0', routes)
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
    assert set(ifu.parse_routes(text, 'natdum0')) == set(routes)
    assert ifu.parse_routes(text, 'eth0') == []
    assert ifu.render_routes(NAT_ROUTE, 'natdum0', []) is None
    assert ifu.ifupdown_path(NAT_ROUTE, 'eth0.5') == '/etc/network/interfaces.d/lvs-cluster-nat-route-eth0_5'


def test_ifupdown_gateways_of_static_stanzas():
    text = ('auto eth0\niface eth0 inet static\n    address 10.10.0.12/24\n    gateway 10.10.0.1\n'
            'iface eth0 inet6 static\n    address fd97:1::2/64\n    gateway fd97:1::fe\n    metric 7\n'
            'iface eth1 inet dhcp\n'
            'iface eth2 inet static\n    address 10.30.0.2/24\n')
    assert ifu.gateway_routes(text) == [
        route('0.0.0.0/0', '10.10.0.1', 'eth0'), route('::/0', 'fd97:1::fe', 'eth0', metric=7)]


@pytest.mark.parametrize('text,expected', [
    ('auto lo eth0\niface eth0 inet dhcp\n', True),
    ('allow-hotplug eth0\n', True),
    ('iface eth0 inet dhcp\n', False),
    ('auto eth00\n', False),
])
def test_ifupdown_brings_up(text, expected):
    assert ifu.ifupdown_brings_up('eth0', [None, text]) is expected


def test_plan_routes_moves_a_route_between_devices_and_absent_needs_the_gateway(tmp_path, monkeypatch):
    monkeypatch.setattr(ifu, 'IFUPDOWN_DIR', str(tmp_path))
    eth0, eth1 = ifu.ifupdown_path(NAT_ROUTE, 'eth0'), ifu.ifupdown_path(NAT_ROUTE, 'eth1')
    default = route('0.0.0.0/0', '10.97.1.1', device='eth0')
    with open(eth0, 'w') as handle:
        handle.write(ifu.render_routes(NAT_ROUTE, 'eth0', [default]))
    moved = route('0.0.0.0/0', '10.97.2.1', device='eth1')
    warnings = []
    plan, held, _unused = ifu.BACKEND.plan_routes(NAT_ROUTE, [moved], 3, False, 'present', warnings.append)
    assert held == [eth1] and plan[eth0] is None and ifu.parse_routes(plan[eth1], 'eth1') == [moved]
    assert warnings and 'no auto or allow-hotplug line names eth1' in warnings[0]
    other = route('0.0.0.0/0', '10.97.9.9', device='eth0')
    assert ifu.BACKEND.plan_routes(NAT_ROUTE, [other], 2, False, 'absent', None) == ({}, [], None)
    assert ifu.BACKEND.plan_routes(NAT_ROUTE, [default], 2, False, 'absent', None) == ({eth0: None}, [], None)
