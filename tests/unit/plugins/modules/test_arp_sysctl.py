# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""arp_sysctl end to end on this machine's kernel, in a private network and mount namespace
(`unshare -n -m`, tmpfs over /etc/sysctl.d): nothing outside the namespace changes. Skipped where
unshare is not allowed (not root, or no user/mount namespaces)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

MODULE = 'ansible_collections.lvs.cluster.plugins.modules.arp_sysctl'
CONF = '/etc/sysctl.d/90-lvs-cluster-arp.conf'
# a.1: an interface with a dot in its name (a veth pair needs no kernel module)
SETUP = ['ip link add a.1 type veth peer name b.2']


@pytest.fixture
def run_steps(netns):
    return lambda steps: netns(MODULE, steps, SETUP)


VALUES = ('for i in all default lo a.1; do echo "$i $(cat /proc/sys/net/ipv4/conf/$i/arp_ignore) '
          '$(cat /proc/sys/net/ipv4/conf/$i/arp_announce) $(cat /proc/sys/net/ipv4/conf/$i/rp_filter)"; done')
FILES = 'ls -A /etc/sysctl.d; cat %s 2>/dev/null || true' % CONF


def test_present_check_diff_idempotent_absent(run_steps):
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


def test_absent_reapplies_remaining_configuration(run_steps):
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


def test_absent_puts_back_interfaces_that_took_the_old_default_when_created(run_steps):
    """The kernel gives a new interface default's values (as every NIC after a reboot, created after
    systemd-sysctl ran): removing the file must not leave them ignoring ARP."""
    show = ('for i in c.3 d.4; do echo "$i $(cat /proc/sys/net/ipv4/conf/$i/arp_ignore) '
            '$(cat /proc/sys/net/ipv4/conf/$i/arp_announce)"; done')
    applied, created, gone, values = run_steps([
        ('module', {}),
        ('sh', 'ip link add c.3 type veth peer name d.4; echo 3 > /proc/sys/net/ipv4/conf/d.4/arp_ignore; ' + show),
        ('module', {'state': 'absent'}),
        ('sh', show),
    ])
    assert applied['changed'] is True
    assert created.splitlines() == ['c.3 1 2', 'd.4 3 2']  # the kernel's inheritance, d.4's arp_ignore set by hand
    inherited = {'value': 0, 'source': 'default (taken when the interface was created)'}
    assert gone['restored']['net/ipv4/conf/c.3/arp_ignore'] == inherited
    assert gone['restored']['net/ipv4/conf/c.3/arp_announce'] == inherited
    assert 'net/ipv4/conf/d.4/arp_ignore' not in gone['restored']
    assert values.splitlines() == ['c.3 0 0', 'd.4 3 0']


@pytest.mark.parametrize('args,message', [
    ({'arp_ignore': 9}, 'arp_ignore must be an integer from 0 to 8'),
    ({'rp_filter': 3}, 'rp_filter must be an integer from 0 to 2'),
    ({'interfaces': ['lo', 'nosuch0']}, 'interfaces: nosuch0 does not exist'),
    ({'sysctl_file': '/etc/sysctl.conf'}, 'sysctl_file must be a file directly in /etc/sysctl.d'),
    ({'sysctl_file': '/etc/sysctl.d/x.txt'}, 'sysctl_file must end in .conf'),
])
def test_bad_input_fails_before_any_change(run_steps, args, message):
    result, after = run_steps([('module', args), ('sh', VALUES + '; ' + FILES)])
    assert result.get('failed') is True
    assert message in result['msg']
    assert 'all 0 0 0' in after.splitlines()
    assert 'Managed by Ansible' not in after


def test_missing_interface_allowed_is_only_persisted(run_steps):
    result, files = run_steps([
        ('module', {'interfaces': ['later0'], 'allow_missing_interfaces': True}),
        ('sh', FILES),
    ])
    assert result['changed'] is True
    assert result['missing_interfaces'] == ['later0']
    # warnings are structured objects in ansible-core >= 2.19, plain strings before
    assert 'interface later0 does not exist' in json.dumps(result.get('warnings'))
    assert 'net.ipv4.conf.later0.arp_ignore = 1' in files.splitlines()


def test_a_file_that_cannot_be_written_puts_the_kernel_values_back(run_steps, netns):
    before, result, after, files = run_steps([
        ('sh', VALUES),
        ('module', {'interfaces': ['a.1'], 'rp_filter': 2}, False, False, [(netns.ATOMIC_MOVE, [1])]),
        ('sh', VALUES),
        ('sh', FILES),
    ])
    assert result.get('failed') is True
    assert result['msg'].startswith('failed, and rolled back 9 earlier step(s): write %s: ' % CONF)
    assert result['changed'] is False and result['written'] == [] and result['rollback']['not_restored'] == []
    assert after == before
    assert files.strip() == ''


def test_a_refused_kernel_value_rolls_back_and_writes_no_file(run_steps):
    # the 5th value written refused by the kernel: the four written before it go back
    before, result, after, files = run_steps([
        ('sh', VALUES),
        ('module', {'interfaces': ['a.1'], 'sysctl_file': CONF}, False, False,
         [('ansible_collections.lvs.cluster.plugins.module_utils._sysctl.write_proc_value', [5])]),
        ('sh', VALUES),
        ('sh', FILES),
    ])
    assert result.get('failed') is True
    assert len(result['rollback']['undone']) == 4 and result['written'] == []
    assert after == before
    assert files.strip() == ''
