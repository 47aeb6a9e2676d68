# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_persist: the choice of back ends, file diffs, and steps that roll back (real files in a
temporary directory; the failures are real errors raised at the step boundaries)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _persist as persist


class Backend(object):
    def __init__(self, name, running, why_not=None):
        self.name = name
        self.running = running
        self.why_not = why_not
        self.probe_text = '%s not running' % name

    def in_use(self, root=''):
        return self.running

    def unusable(self, root=''):
        return self.why_not


class Failed(Exception):
    pass


class Module(object):
    """What the engine uses of AnsibleModule."""
    check_mode = False

    def atomic_move(self, src, dst):
        os.rename(src, dst)

    def fail_json(self, **result):
        raise Failed(result)


def test_auto_takes_the_first_back_end_in_use_in_order():
    first, second = Backend('networkd', False), Backend('ifupdown', True)
    assert persist.choose_backends('auto', 'present', [first, second]) == [second]
    first.running = True
    assert persist.choose_backends('auto', 'present', [first, second]) == [first]


def test_auto_absent_cleans_every_back_end_and_none_writes_nothing():
    both = [Backend('networkd', False), Backend('ifupdown', False)]
    assert persist.choose_backends('auto', 'absent', both) == both
    assert persist.choose_backends('none', 'present', both) == []


def test_auto_with_nothing_in_use_is_refused_naming_the_option():
    with pytest.raises(persist.PersistError) as err:
        persist.choose_backends('auto', 'present', [Backend('networkd', False), Backend('ifupdown', False)])
    assert str(err.value).startswith('persistence: auto found none of networkd, ifupdown running this host')


def test_an_explicit_back_end_that_cannot_work_is_refused_for_present_only():
    ifupdown = Backend('ifupdown', False, 'this host does not run ifupdown')
    with pytest.raises(persist.PersistError, match='^persistence: ifupdown cannot work here: this host does not run'):
        persist.choose_backends('ifupdown', 'present', [ifupdown])
    assert persist.choose_backends('ifupdown', 'absent', [ifupdown]) == [ifupdown]


def test_the_real_back_ends_are_networkd_networkmanager_then_ifupdown():
    assert [b.name for b in persist.backends()] == ['networkd', 'networkmanager', 'ifupdown']
    assert persist.PERSISTENCE_CHOICES == ('auto', 'networkd', 'networkmanager', 'ifupdown', 'none')


class AnsibleMove(Module):
    """atomic_move as Ansible's: a new file gets 0644 whatever mode the temporary file had."""

    def atomic_move(self, src, dst):
        existed = os.path.exists(dst)
        os.rename(src, dst)
        if not existed:
            os.chmod(dst, 0o644)


def test_dispatcher_scripts_are_written_executable_other_files_not(tmp_path, monkeypatch):
    monkeypatch.setattr(persist, 'EXECUTABLE_DIRS', (str(tmp_path / 'dispatcher.d'),))
    script, plain = str(tmp_path / 'dispatcher.d' / '50-x'), str(tmp_path / 'interfaces.d' / 'x')
    for path in (script, plain):
        persist.write_file_atomic(AnsibleMove(), path, '#!/bin/sh\n')
        persist.write_file_atomic(AnsibleMove(), path, '#!/bin/sh\ntrue\n')  # and when it replaces one
    assert oct(os.stat(script).st_mode & 0o777) == '0o755'
    assert oct(os.stat(plain).st_mode & 0o777) == '0o644'


def test_file_changes_leave_out_files_already_so_and_refuse_non_files(tmp_path):
    same, other, gone = str(tmp_path / 'same'), str(tmp_path / 'other'), str(tmp_path / 'gone')
    for path in (same, other):
        with open(path, 'w') as handle:
            handle.write('old\n')
    changes = persist.file_changes({same: 'old\n', other: 'new\n', gone: None, str(tmp_path / 'new'): 'x\n'})
    assert changes == [persist.FileChange(str(tmp_path / 'new'), None, 'x\n'), persist.FileChange(other, 'old\n', 'new\n')]
    os.mkdir(str(tmp_path / 'dir'))
    with pytest.raises(persist.PersistError, match='exists and is not a regular file'):
        persist.file_changes({str(tmp_path / 'dir'): 'x'})


def test_a_failing_step_rolls_every_earlier_file_and_step_back(tmp_path):
    kept, created = str(tmp_path / 'kept'), str(tmp_path / 'a.network.d' / 'created')
    with open(kept, 'w') as handle:
        handle.write('old\n')
    kernel = []
    steps = persist.Steps()
    steps.run('add 10.98.0.1', lambda: kernel.append('10.98.0.1'), lambda: kernel.remove('10.98.0.1'), ('added', '10.98.0.1'))
    steps.files(Module(), [persist.FileChange(kept, 'old\n', 'new\n'), persist.FileChange(created, None, 'x\n')])
    assert open(kept).read() == 'new\n' and os.path.exists(created)
    with pytest.raises(persist.StepFailed) as err:
        steps.run('write /etc/x', lambda: open(str(tmp_path / 'no' / 'such' / 'dir'), 'w'), lambda: None)
    assert str(err.value).startswith('write /etc/x: ')
    with pytest.raises(Failed) as failed:
        steps.fail(Module(), err.value, {}, ('added', 'changed_files'))
    result = failed.value.args[0]
    assert open(kept).read() == 'old\n'
    assert not os.path.exists(os.path.dirname(created))  # the emptied drop-in folder went too
    assert kernel == []
    assert result['added'] == [] and result['changed_files'] == [] and result['changed'] is False
    assert result['rollback']['undone'] == ['write %s' % created, 'write %s' % kept, 'add 10.98.0.1']
    assert result['rollback']['not_restored'] == []
    assert result['msg'].startswith('failed, and rolled back 3 earlier step(s): write /etc/x: ')


def test_an_undo_that_fails_is_reported_and_the_others_still_run():
    kernel = ['a']

    def cannot():
        raise OSError(1, 'Operation not permitted')

    steps = persist.Steps()
    steps.run('add b', lambda: kernel.append('b'), lambda: kernel.remove('b'), ('added', 'b'))
    steps.run('add c', lambda: kernel.append('c'), cannot, ('added', 'c'))
    steps.run('add d', lambda: kernel.append('d'), lambda: kernel.remove('d'), ('added', 'd'))
    with pytest.raises(Failed) as failed:
        steps.fail(Module(), RuntimeError('boom'), {}, ('added',))
    result = failed.value.args[0]
    assert kernel == ['a', 'c']
    assert result['added'] == ['c'] and result['changed'] is True
    assert result['rollback']['not_restored'] == ['add c: [Errno 1] Operation not permitted']
    assert 'could NOT restore: add c' in result['msg']


def test_state_diffs_lists_the_kernel_state_then_each_file():
    diffs = persist.state_diffs('lo addresses', ['127.0.0.1/8'], ['127.0.0.1/8', '10.98.0.1/32'],
                                [persist.FileChange('/x', None, 'y\n')])
    assert diffs[0]['after'] == '127.0.0.1/8\n10.98.0.1/32\n'
    assert diffs[1] == dict(before_header='/x', after_header='/x', before='', after='y\n')
