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
