# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_persist_networkmanager: the probe, the dispatcher scripts (rendered, parsed back, and run by sh
with a stand-in `ip` that records its arguments, as NetworkManager's dispatcher runs them), and the
plans of addresses and routes over real files in a temporary directory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _persist_networkmanager as nm
from netvalues import iface, route, LO_VIP, DIRECTOR, NAT_ROUTE


def _write(path, text):
    if not os.path.isdir(os.path.dirname(path)):
        os.makedirs(os.path.dirname(path))
    with open(path, 'w') as handle:
        handle.write(text)


@pytest.fixture
def dispatcher(tmp_path, monkeypatch):
    directory = str(tmp_path / 'dispatcher.d')
    monkeypatch.setattr(nm, 'DISPATCHER_DIR', directory)
    return directory


def run_script(tmp_path, text, device, action, sys_devices=('lo', 'eth0', 'tunl0')):
    """Run the script as the dispatcher does (device and event as arguments) with `ip` recording its
    arguments; the script's /sys/class/net test is pointed at a temporary tree. Returns the ip calls."""
    bin_dir, log = tmp_path / 'bin', tmp_path / 'ip.log'
    bin_dir.mkdir(exist_ok=True)
    fake_ip = bin_dir / 'ip'
    fake_ip.write_text('#!/bin/sh\necho "ip $*" >> %s\n' % log)
    fake_ip.chmod(0o755)
    sys_net = tmp_path / 'sys'
    for name in sys_devices:
        (sys_net / name).mkdir(parents=True, exist_ok=True)
    script = tmp_path / 'script'
    # The script sets PATH itself; the stand-in takes the place of the system's ip in its first directory.
    script.write_text(text.replace('PATH=/usr/sbin:', 'PATH=%s:/usr/sbin:' % bin_dir)
                      .replace('/sys/class/net/', '%s/' % sys_net))
    if log.exists():
        log.unlink()
    proc = subprocess.run(['sh', str(script), device, action], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return log.read_text().splitlines() if log.exists() else []


def test_lo_script_sets_every_address_on_any_device_up_and_nothing_on_down(tmp_path):
    text = nm.render_addresses(LO_VIP, 'lo', [iface('fd98::1/128'), iface('10.98.0.2/32'), iface('10.98.0.1/32')])
    expected = ['ip link set dev lo up', 'ip address replace 10.98.0.1/32 dev lo', 'ip address replace 10.98.0.2/32 dev lo',
                'ip -6 address replace fd98::1/128 dev lo']
    assert run_script(tmp_path, text, 'eth0', 'up') == expected
    assert run_script(tmp_path, text, 'eth1', 'reapply') == expected
    assert run_script(tmp_path, text, 'eth0', 'dhcp4-change') == expected
    assert run_script(tmp_path, text, 'eth0', 'down') == []
    assert run_script(tmp_path, text, 'eth0', 'pre-up') == []
    assert nm.parse_addresses(text, 'lo') == [iface('10.98.0.1/32'), iface('10.98.0.2/32'), iface('fd98::1/128')]
    assert nm.parse_addresses(text, 'eth0') == []


def test_a_missing_tunnel_device_is_left_alone(tmp_path):
    text = nm.render_addresses(LO_VIP, 'tunl0', [iface('10.98.0.1/32')])
    assert run_script(tmp_path, text, 'eth0', 'up', sys_devices=('lo', 'eth0')) == []
    assert run_script(tmp_path, text, 'eth0', 'up') == ['ip link set dev tunl0 up', 'ip address replace 10.98.0.1/32 dev tunl0']


def test_a_real_device_script_runs_on_its_own_events_only_and_does_not_bring_it_up(tmp_path):
    text = nm.render_addresses(DIRECTOR, 'eth0', [iface('10.97.0.10/32')])
    assert run_script(tmp_path, text, 'eth0', 'up') == ['ip address replace 10.97.0.10/32 dev eth0']
    assert run_script(tmp_path, text, 'eth1', 'up') == []
    assert nm.render_addresses(DIRECTOR, 'eth0', []) is None


def test_route_script_runs_and_parses_back(tmp_path):
    routes = [route('::/0', 'fd97:1::1', device='eth1'), route('0.0.0.0/0', '10.97.1.1', device='eth1', metric=50)]
    text = nm.render_routes(NAT_ROUTE, 'eth1', routes)
    assert run_script(tmp_path, text, 'eth1', 'up') == ['ip route replace 0.0.0.0/0 via 10.97.1.1 dev eth1 metric 50',
                                                        'ip -6 route replace ::/0 via fd97:1::1 dev eth1 metric 1024']
    assert run_script(tmp_path, text, 'eth0', 'up') == []
    assert nm.parse_routes(text, 'eth1') == [routes[1], routes[0]]
    assert nm.parse_routes(text, 'eth0') == []


def test_in_use_needs_networkmanager_installed_and_enabled_or_running(tmp_path):
    root = str(tmp_path)
    os.makedirs(root + '/run/NetworkManager/devices')
    assert not nm.networkmanager_in_use(root)  # not installed
    assert 'does not run NetworkManager' in nm.BACKEND.unusable(root)
    _write(root + '/usr/sbin/NetworkManager', '')
    assert nm.networkmanager_in_use(root)  # running
    os.rmdir(root + '/run/NetworkManager/devices')
    assert not nm.networkmanager_in_use(root)  # installed, neither running nor enabled
    os.makedirs(root + '/etc/systemd/system/multi-user.target.wants')
    os.symlink('/lib/systemd/system/NetworkManager.service', root + nm.ENABLED_LINKS[0])
    assert nm.networkmanager_in_use(root) and nm.BACKEND.unusable(root) is None


def test_plan_addresses_keeps_other_addresses_and_absent_removes_the_emptied_script(dispatcher):
    path = nm.script_path(LO_VIP, 'lo')
    assert path == os.path.join(dispatcher, '50-lvs-cluster-vip-lo')
    plan, held, _unused = nm.BACKEND.plan_addresses(LO_VIP, 'lo', 1, [iface('10.98.0.1/32')], 'present', None)
    assert held == [path] and nm.parse_addresses(plan[path], 'lo') == [iface('10.98.0.1/32')]
    _write(path, plan[path])
    plan, _held, _unused = nm.BACKEND.plan_addresses(LO_VIP, 'lo', 1, [iface('10.98.0.2/32')], 'present', None)
    assert nm.parse_addresses(plan[path], 'lo') == [iface('10.98.0.1/32'), iface('10.98.0.2/32')]
    _write(path, plan[path])
    plan, held, _unused = nm.BACKEND.plan_addresses(LO_VIP, 'lo', 1, [iface('10.98.0.1/32')], 'absent', None)
    assert held == [] and nm.parse_addresses(plan[path], 'lo') == [iface('10.98.0.2/32')]
    plan, _held, _unused = nm.BACKEND.plan_addresses(LO_VIP, 'lo', 1, [iface('10.98.0.1/32'), iface('10.98.0.2/32')],
                                                     'absent', None)
    assert plan == {path: None}
    assert nm.BACKEND.plan_addresses(LO_VIP, 'tunl0', 5, [iface('10.98.0.1/32')], 'absent', None)[0] == {}


def test_an_exclusive_owner_moves_an_address_off_another_device_script(dispatcher):
    eth0, eth1 = nm.script_path(DIRECTOR, 'eth0'), nm.script_path(DIRECTOR, 'eth1')
    _write(eth0, nm.render_addresses(DIRECTOR, 'eth0', [iface('10.97.0.10/32'), iface('10.97.0.11/32')]))
    plan, held, _unused = nm.BACKEND.plan_addresses(DIRECTOR, 'eth1', 3, [iface('10.97.0.10/32')], 'present', None)
    assert held == [eth1]
    assert nm.parse_addresses(plan[eth0], 'eth0') == [iface('10.97.0.11/32')]
    assert nm.parse_addresses(plan[eth1], 'eth1') == [iface('10.97.0.10/32')]
    # lo_vip's addresses may live on lo and a tunnel at once: its other scripts stay.
    lo = nm.script_path(LO_VIP, 'lo')
    _write(lo, nm.render_addresses(LO_VIP, 'lo', [iface('10.98.0.1/32')]))
    plan, _held, _unused = nm.BACKEND.plan_addresses(LO_VIP, 'tunl0', 5, [iface('10.98.0.1/32')], 'present', None)
    assert list(plan) == [nm.script_path(LO_VIP, 'tunl0')]


def test_plan_routes_moves_a_route_between_devices_and_absent_needs_the_gateway(dispatcher):
    eth0, eth1 = nm.script_path(NAT_ROUTE, 'eth0'), nm.script_path(NAT_ROUTE, 'eth1')
    default = route('0.0.0.0/0', '10.97.1.1', device='eth0')
    _write(eth0, nm.render_routes(NAT_ROUTE, 'eth0', [default]))
    moved = route('0.0.0.0/0', '10.97.2.1', device='eth1')
    plan, held, _unused = nm.BACKEND.plan_routes(NAT_ROUTE, [moved], 3, False, 'present', None)
    assert held == [eth1] and plan[eth0] is None and nm.parse_routes(plan[eth1], 'eth1') == [moved]
    # absent removes the route only where it goes through the given gateway
    other = route('0.0.0.0/0', '10.97.9.9', device='eth0')
    assert nm.BACKEND.plan_routes(NAT_ROUTE, [other], 2, False, 'absent', None) == ({}, [], None)
    assert nm.BACKEND.plan_routes(NAT_ROUTE, [default], 2, False, 'absent', None) == ({eth0: None}, [], None)
