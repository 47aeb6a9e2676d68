# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""arp_sysctl end to end on this machine's kernel, in a private network and mount namespace
(`unshare -n -m`, tmpfs over /etc/sysctl.d): nothing outside the namespace changes. Skipped where
unshare is not allowed (not root, or no user/mount namespaces)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shlex
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
COLLECTIONS = os.path.join(ROOT, '.collections')
MODULE = 'ansible_collections.lvs.cluster.plugins.modules.arp_sysctl'
CONF = '/etc/sysctl.d/90-lvs-cluster-arp.conf'
SEP = '@@STEP@@'


def _unshare_works():
    try:
        return subprocess.call(['unshare', '-n', '-m', 'true'], stderr=subprocess.DEVNULL) == 0
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _unshare_works() or not os.path.isdir('/etc/sysctl.d'),
                                reason='needs root and unshare -n -m')


def run_steps(steps):
    """Run steps in one fresh namespace; ('module', args, check, diff) or ('sh', command).
    Returns parsed JSON for module steps and stdout for shell steps."""
    # a.1: an interface with a dot in its name (a veth pair needs no kernel module)
    # The rest of the host's sysctl configuration is hidden too, so restores are predictable.
    lines = ['set -u', 'mount -t tmpfs tmpfs /etc/sysctl.d', 'ip link set lo up',
             'for d in /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d; do'
             ' if [ -d $d ]; then mount -t tmpfs tmpfs $d; fi; done',
             'if [ -f /etc/sysctl.conf ]; then mount --bind /dev/null /etc/sysctl.conf; fi',
             'ip link add a.1 type veth peer name b.2']
    for step in steps:
        lines.append('echo %s' % SEP)
        if step[0] == 'module':
            args = dict(step[1])
            args['_ansible_check_mode'] = bool(step[2]) if len(step) > 2 else False
            args['_ansible_diff'] = bool(step[3]) if len(step) > 3 else False
            lines.append('%s -m %s %s' % (shlex.quote(sys.executable), MODULE,
                                          shlex.quote(json.dumps({'ANSIBLE_MODULE_ARGS': args}))))
        else:
            lines.append(step[1])
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    out = subprocess.run(['unshare', '-n', '-m', 'bash', '-c', '\n'.join(lines)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120, check=False)
    chunks = out.stdout.split(SEP + '\n')[1:]
    assert len(chunks) == len(steps), out.stderr
    results = []
    for step, chunk in zip(steps, chunks):
        results.append(json.loads(chunk) if step[0] == 'module' else chunk)
    return results


VALUES = ('for i in all default lo a.1; do echo "$i $(cat /proc/sys/net/ipv4/conf/$i/arp_ignore) '
          '$(cat /proc/sys/net/ipv4/conf/$i/arp_announce) $(cat /proc/sys/net/ipv4/conf/$i/rp_filter)"; done')
FILES = 'ls -A /etc/sysctl.d; cat %s 2>/dev/null || true' % CONF


def test_present_check_diff_idempotent_absent():
    args = {'interfaces': ['a.1', 'lo'], 'rp_filter': 2}
    check, before, applied, values, files, again, gone, restored = run_steps([
        ('module', args, True, True),
        ('sh', VALUES + '; ' + FILES),
        ('module', args, False, True),
        ('sh', VALUES),
        ('sh', FILES),
        ('module', args),
        ('module', {'state': 'absent'}, False, True),
        ('sh', VALUES + '; ' + FILES),
    ])
    assert check['changed'] is True
    assert check['settings']['a.1'] == {'arp_ignore': 1, 'arp_announce': 2, 'rp_filter': 2}
    # check mode wrote nothing
    assert 'a.1 0 0 0' in before.splitlines() and 'all 0 0 0' in before.splitlines()
    assert 'Managed by Ansible' not in before

    assert applied['changed'] is True
    assert len(applied['diff']) == 2
    assert 'net/ipv4/conf/a.1/arp_ignore = 1' in applied['diff'][1]['after']
    for name in ('all', 'default', 'lo', 'a.1'):
        assert '%s 1 2 2' % name in values.splitlines()
    assert 'net/ipv4/conf/a.1/rp_filter = 2' in files.splitlines()
    assert 'net.ipv4.conf.lo.arp_ignore = 1' in files.splitlines()
    # b.2 was not named: its own value is 0, the effective value is all's
    assert applied['effective']['b.2'] == {'arp_ignore': 1, 'arp_announce': 2, 'rp_filter': 2}

    assert again['changed'] is False

    assert gone['changed'] is True
    assert gone['restored']['net/ipv4/conf/a.1/arp_ignore'] == {'value': 0, 'source': 'kernel default'}
    assert gone['diff'][1]['after'] == ''
    assert 'a.1 0 0 0' in restored.splitlines() and 'all 0 0 0' in restored.splitlines()
    assert '90-lvs-cluster-arp.conf' not in restored


def test_absent_reapplies_remaining_configuration():
    site = "printf 'net.ipv4.conf.all.rp_filter = 1\\nnet.ipv4.conf.*.arp_announce = 1\\n' > /etc/sysctl.d/60-site.conf"
    dummy, applied, gone, values = run_steps([
        ('sh', site),
        ('module', {'interfaces': ['a.1'], 'rp_filter': 2, 'arp_announce': 2}),
        ('module', {'state': 'absent'}),
        ('sh', VALUES),
    ])
    assert applied['changed'] is True
    assert gone['restored']['net/ipv4/conf/all/rp_filter'] == {'value': 1, 'source': '/etc/sysctl.d/60-site.conf'}
    assert gone['restored']['net/ipv4/conf/a.1/arp_announce'] == {'value': 1, 'source': '/etc/sysctl.d/60-site.conf'}
    assert 'all 0 1 1' in values.splitlines()
    assert 'a.1 0 1 0' in values.splitlines()


@pytest.mark.parametrize('args,message', [
    ({'arp_ignore': 9}, 'arp_ignore must be an integer from 0 to 8'),
    ({'rp_filter': 3}, 'rp_filter must be an integer from 0 to 2'),
    ({'interfaces': ['lo', 'nosuch0']}, 'interfaces: nosuch0 does not exist'),
    ({'sysctl_file': '/etc/sysctl.conf'}, 'sysctl_file must be a file directly in /etc/sysctl.d'),
    ({'sysctl_file': '/etc/sysctl.d/x.txt'}, 'sysctl_file must end in .conf'),
])
def test_bad_input_fails_before_any_change(args, message):
    result, after = run_steps([('module', args), ('sh', VALUES + '; ' + FILES)])
    assert result.get('failed') is True
    assert message in result['msg']
    assert 'all 0 0 0' in after.splitlines()
    assert 'Managed by Ansible' not in after


def test_missing_interface_allowed_is_only_persisted():
    result, files = run_steps([
        ('module', {'interfaces': ['later0'], 'allow_missing_interfaces': True}),
        ('sh', FILES),
    ])
    assert result['changed'] is True
    assert result['missing_interfaces'] == ['later0']
    # warnings are structured objects in ansible-core >= 2.19, plain strings before
    assert 'interface later0 does not exist' in json.dumps(result.get('warnings'))
    assert 'net.ipv4.conf.later0.arp_ignore = 1' in files.splitlines()
