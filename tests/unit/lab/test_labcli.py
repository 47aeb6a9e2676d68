# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's controller side: its lock, the choice of Debian release, the image key."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import importlib.util
import os
import threading
import time

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture()
def labcli(tmp_path, monkeypatch):
    """lab/labcli.py loaded with its state in a temporary lab home."""
    monkeypatch.setenv('LVS_LAB_HOME', str(tmp_path))
    monkeypatch.delenv('LVS_LAB_SUITE', raising=False)
    spec = importlib.util.spec_from_file_location('labcli_under_test', os.path.join(_ROOT, 'lab', 'labcli.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with open(module.KEY + '.pub', 'w') as handle:
        handle.write('ssh-ed25519 AAAA test\n')
    return module


def test_a_second_command_waits_for_the_first(labcli):
    entered = []
    with labcli.LabLock('create'):
        waiter = threading.Thread(target=lambda: entered.append(labcli.LabLock('destroy').__enter__()))
        waiter.start()
        time.sleep(0.5)
        assert not entered, 'lab destroy ran while lab create held the lock'
        with open(labcli.LOCK_FILE) as handle:
            assert '`lab create`' in handle.read()
    waiter.join(5)
    assert entered, 'lab destroy never got the lock after lab create released it'
    entered[0].__exit__(None, None, None)


def test_every_command_that_changes_the_lab_takes_the_lock(labcli):
    assert set(labcli.LOCKED_COMMANDS) >= {'image', 'up', 'down', 'create', 'destroy', 'reset', 'stop', 'start',
                                           'restart'}


def test_the_image_key_holds_the_suite_and_only_its_own_package_list(labcli, tmp_path, monkeypatch):
    inputs = tmp_path / 'image'
    inputs.mkdir()
    (inputs / 'packages.txt').write_text('# every suite\nsystemd\nipvsadm  # a comment\n')
    (inputs / 'packages-trixie.txt').write_text('trixie-only\n')
    monkeypatch.setattr(labcli, 'IMAGE_INPUTS', str(inputs))
    labcli.choose_suite('bookworm', 'test')
    bookworm = labcli.image_hash()
    assert labcli.packages() == ['systemd', 'ipvsadm']
    labcli.choose_suite('trixie', 'test')
    trixie = labcli.image_hash()
    assert trixie != bookworm
    assert labcli.packages() == ['systemd', 'ipvsadm', 'trixie-only']
    # another suite's list is not an input of this image: changing it leaves bookworm's key alone
    (inputs / 'packages-trixie.txt').write_text('trixie-only\nmore\n')
    assert labcli.image_hash() != trixie
    labcli.choose_suite('bookworm', 'test')
    assert labcli.image_hash() == bookworm


def test_an_unknown_suite_is_refused_naming_the_source(labcli):
    with pytest.raises(labcli.LabError, match=r"lab\.yml: suite 'sid' is not one the lab builds"):
        labcli.choose_suite('sid', 'lab.yml')


def test_a_scenario_file_names_its_suite(labcli, tmp_path):
    spec = tmp_path / 'lab.yml'
    spec.write_text('suite: trixie\nhosts: {a: {}}\n')
    assert labcli.spec_suite(str(spec)) == 'trixie'
    spec.write_text('hosts: {a: {}}\n')
    assert labcli.spec_suite(str(spec)) == 'bookworm'
    with pytest.raises(labcli.LabError, match='suite'):
        labcli.validate_spec({'suite': 'buster', 'hosts': {'a': {}}}, 'lab.yml')


def test_the_carried_wheel_is_the_pinned_pyroute2():
    wheels = glob.glob(os.path.join(_ROOT, 'roles', 'pyroute2', 'files', 'pyroute2-*-py3-none-any.whl'))
    assert len(wheels) == 1
    with open(os.path.join(_ROOT, 'requirements-test.txt')) as handle:
        pins = [line.strip() for line in handle if line.startswith('pyroute2==')]
    assert pins == ['pyroute2==%s' % os.path.basename(wheels[0]).split('-')[1]]


def test_a_host_network_is_networkd_or_networkmanager(labcli):
    spec = {'segments': {'lan': {}}, 'hosts': {'a': {'network': 'networkmanager'}, 'b': {}}}
    labcli.validate_spec(spec, 'x.yml')
    assert labcli.guest_spec(spec)['hosts'] == {'a': {'interfaces': {}, 'forward': False, 'network': 'networkmanager'},
                                                'b': {'interfaces': {}, 'forward': False}}
    with pytest.raises(labcli.LabError, match='^x.yml: hosts.a.network must be one of networkd, networkmanager$'):
        labcli.validate_spec({'hosts': {'a': {'network': 'ifupdown'}}}, 'x.yml')


def test_a_networkmanager_host_gets_keyfiles_readable_by_root_only_and_networkd_masked(tmp_path):
    spec = importlib.util.spec_from_file_location('labctl_under_test', os.path.join(_ROOT, 'lab', 'guest', 'labctl.py'))
    labctl = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(labctl)
    host = {'network': 'networkmanager', 'index': 3,
            'interfaces': {'eth0': {'segment': 'lan', 'address': ['10.51.0.22/24', 'fd40::2/64'],
                                    'routes': [{'to': '0.0.0.0/0', 'via': '10.51.0.254'}]}}}
    files = labctl.network_files('h', host, 3, {'h': host})
    assert not [path for path in files if path.startswith('etc/systemd/network/')]
    eth0 = files['etc/NetworkManager/system-connections/lab-eth0.nmconnection'].splitlines()
    assert 'id=lab-eth0' in eth0 and 'interface-name=eth0' in eth0
    assert eth0[eth0.index('[ipv4]') + 1:eth0.index('[ipv6]')] == [
        'method=manual', 'address1=10.51.0.22/24', 'route1=0.0.0.0/0,10.51.0.254', '']
    assert 'address1=fd40::2/64' in eth0
    mgmt0 = files['etc/NetworkManager/system-connections/lab-mgmt0.nmconnection'].splitlines()
    assert 'address1=%s/24' % labctl.mgmt_address(3) in mgmt0
    root = tmp_path / 'root'
    (root / 'etc/systemd/system/multi-user.target.wants').mkdir(parents=True)
    (root / 'etc/systemd/system/multi-user.target.wants/systemd-networkd.service').symlink_to('/x')
    labctl.write_host_files(str(root), files, labctl.network_links(host))
    assert oct(os.stat(str(root / 'etc/NetworkManager/system-connections/lab-eth0.nmconnection')).st_mode & 0o777) == '0o600'
    assert os.readlink(str(root / 'etc/systemd/system/systemd-networkd.service')) == '/dev/null'
    assert not os.path.lexists(str(root / 'etc/systemd/system/multi-user.target.wants/systemd-networkd.service'))
    assert os.path.islink(str(root / 'etc/systemd/system/multi-user.target.wants/NetworkManager.service'))
    assert labctl.network_links({}) == {}
