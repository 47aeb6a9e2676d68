# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""lo_vip end to end on this machine's kernel, in a private network and mount namespace
(`unshare -n -m`, tmpfs over /etc/systemd/network): nothing outside the namespace changes.
Skipped where unshare is not allowed or pyroute2 is missing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from lifecycle import lifecycle_steps

MODULE = 'ansible_collections.lvs.cluster.plugins.modules.lo_vip'
NETWORKD = '/etc/systemd/network'
DROPINS = NETWORKD + '/05-lvs-cluster-lo.network.d'
SETUP = []


@pytest.fixture
def run_steps(netns):
    return lambda steps: netns(MODULE, steps, SETUP)


def lo_addresses(text):
    """['127.0.0.1/8', ...] from `ip -j addr show dev lo` (the oracle, not the module)."""
    return ['%s/%d' % (a['local'], a['prefixlen']) for a in json.loads(text)[0]['addr_info']]


SHOW = 'ip -j addr show dev lo'
FILES = 'find %s -type f | sort; cat %s/*.conf 2>/dev/null || true' % (NETWORKD, DROPINS)


def test_networkd_present_check_diff_idempotent_absent(run_steps):
    args = {'addresses': ['10.98.0.1', 'fd98::1/128'], 'persistence': 'networkd'}
    steps = lifecycle_steps(args, SHOW, FILES)
    (check, ip_check, files_check, applied, ip_applied, files_applied, again,
     absent_check, gone, ip_gone, files_gone, gone_again) = run_steps(steps)
    assert check['changed'] is True and check['added'] == ['10.98.0.1/32', 'fd98::1/128']
    assert '10.98.0.1/32' not in lo_addresses(ip_check)
    assert files_check.strip() == ''

    assert applied['changed'] is True
    assert applied['persistence'] == 'networkd'
    assert '10.98.0.1/32' in lo_addresses(ip_applied) and 'fd98::1/128' in lo_addresses(ip_applied)
    assert sorted(applied['addresses']) == sorted(lo_addresses(ip_applied))
    assert applied['persistence_files'] == [NETWORKD + '/05-lvs-cluster-lo.network',
                                            DROPINS + '/lvs-vip-10.98.0.1-32.conf',
                                            DROPINS + '/lvs-vip-fd98--1-128.conf']
    assert 'Address=10.98.0.1/32' in files_applied.splitlines()
    assert 'Address=fd98::1/128' in files_applied.splitlines()
    assert [d['before_header'] for d in applied['diff']][1:] == applied['changed_files']

    assert again['changed'] is False

    assert absent_check['changed'] is True and absent_check['removed'] == ['10.98.0.1/32', 'fd98::1/128']
    assert gone['changed'] is True
    assert '10.98.0.1/32' not in lo_addresses(ip_gone) and '127.0.0.1/8' in lo_addresses(ip_gone)
    # the last drop-in took our base file with it
    assert files_gone.strip() == ''
    assert gone_again['changed'] is False


def test_other_prefix_is_replaced_and_persistence_none_writes_nothing(run_steps):
    wide, narrow, shown, files = run_steps([
        ('module', {'addresses': ['10.98.0.2/30'], 'allow_non_host_prefix': True, 'persistence': 'none'}),
        ('module', {'addresses': ['10.98.0.2'], 'persistence': 'none'}),
        ('sh', SHOW),
        ('sh', FILES),
    ])
    assert wide['added'] == ['10.98.0.2/30']
    assert narrow['removed'] == ['10.98.0.2/30'] and narrow['added'] == ['10.98.0.2/32']
    assert [a for a in lo_addresses(shown) if a.startswith('10.98.0.2/')] == ['10.98.0.2/32']
    assert files.strip() == ''


def test_existing_network_file_for_lo_gets_the_dropin(run_steps):
    own = "printf '[Match]\\nName=lo\\n\\n[Network]\\nKeepConfiguration=yes\\n' > %s/50-lo.network" % NETWORKD
    dummy, result, files = run_steps([
        ('sh', own),
        ('module', {'addresses': ['10.98.0.3'], 'persistence': 'networkd'}),
        ('sh', 'find %s -type f | sort' % NETWORKD),
    ])
    assert result['changed'] is True
    assert files.splitlines() == [NETWORKD + '/50-lo.network',
                                  NETWORKD + '/50-lo.network.d/lvs-vip-10.98.0.3-32.conf']


def test_catch_all_network_file_sorting_first_is_refused(run_steps):
    catch_all = "printf '[Match]\\nName=*\\n' > %s/00-all.network" % NETWORKD
    dummy, result, shown = run_steps([
        ('sh', catch_all),
        ('module', {'addresses': ['10.98.0.4'], 'persistence': 'networkd'}),
        ('sh', SHOW),
    ])
    assert result.get('failed') is True
    assert result['msg'].startswith('persistence: /etc/systemd/network/00-all.network matches lo by a pattern')
    assert '10.98.0.4/32' not in lo_addresses(shown)


def test_missing_tunnel_device_names_the_module(run_steps):
    has_tunl0, result = run_steps([
        ('sh', 'ip link show tunl0 >/dev/null 2>&1 && echo yes || echo no'),
        ('module', {'addresses': ['10.98.0.5'], 'device': 'tunl0', 'persistence': 'none'}),
    ])
    if has_tunl0.strip() == 'yes':
        assert result['changed'] is True and '10.98.0.5/32' in result['addresses']
    else:
        assert result.get('failed') is True
        assert result['msg'].startswith('device: tunl0 does not exist: the ipip kernel module is not loaded (modprobe ipip')


@pytest.mark.parametrize('args,message', [
    ({'addresses': ['10.98.0.300']}, "addresses: '10.98.0.300' is not an IPv4 or IPv6 address"),
    ({'addresses': ['10.98.0.6', 'nope']}, "addresses: 'nope' is not an IPv4 or IPv6 address"),
    ({'addresses': ['10.98.0.7/24']}, 'addresses: 10.98.0.7/24 is not a host address (/32)'),
    ({'addresses': ['fd98::8'], 'device': 'tunl0'}, 'carries only IPv4'),
    ({'addresses': ['10.98.0.9'], 'device': 'eth0'}, 'device'),
    ({'addresses': ['127.0.0.9']}, 'cannot be a virtual IP'),
])
def test_bad_input_fails_before_any_change(run_steps, args, message):
    args = dict(args, persistence='networkd')
    result, shown, files = run_steps([('module', args), ('sh', SHOW), ('sh', FILES)])
    assert result.get('failed') is True
    assert message in result['msg']
    assert lo_addresses(shown) == ['127.0.0.1/8', '::1/128']
    assert files.strip() == ''


def test_an_address_of_a_host_interface_is_refused_on_lo(run_steps):
    dummy, result, shown = run_steps([
        ('sh', 'ip link add v.1 type veth peer name v.2 && ip addr add 10.98.0.10/24 dev v.1'),
        ('module', {'addresses': ['10.98.0.10'], 'persistence': 'none'}),
        ('sh', SHOW),
    ])
    assert result.get('failed') is True
    assert result['msg'].startswith('addresses: 10.98.0.10 is an address of v.1 on this host')
    assert '10.98.0.10/32' not in lo_addresses(shown)


def test_ifupdown_on_a_host_that_does_not_run_it_is_refused(run_steps):
    # /etc/network/interfaces hidden by an empty file: whatever the machine has, ifupdown reads nothing here
    dummy, result, shown = run_steps([
        ('sh', 'if [ -f /etc/network/interfaces ]; then mount --bind /dev/null /etc/network/interfaces; fi'),
        ('module', {'addresses': ['10.98.0.11'], 'persistence': 'ifupdown'}),
        ('sh', SHOW),
    ])
    assert result.get('failed') is True
    assert result['msg'].startswith('persistence: ifupdown cannot work here: ')
    assert '10.98.0.11/32' not in lo_addresses(shown)


def test_a_refused_second_address_rolls_the_first_back(run_steps, netns):
    args = {'addresses': ['10.98.0.12', '10.98.0.13'], 'persistence': 'networkd'}
    result, shown, files = run_steps([('module', args, False, False, [(netns.NETLINK_ADD, [2])]), ('sh', SHOW), ('sh', FILES)])
    assert result.get('failed') is True
    assert result['msg'].startswith('failed, and rolled back 1 earlier step(s): add 10.98.0.13/32 to lo: ')
    assert result['added'] == [] and result['changed'] is False and result['rollback']['not_restored'] == []
    assert result['rollback']['undone'] == ['add 10.98.0.12/32 to lo']
    assert lo_addresses(shown) == ['127.0.0.1/8', '::1/128'] == result['addresses']
    assert files.strip() == ''  # files come after the kernel: none was written


def test_a_file_that_cannot_be_written_rolls_the_addresses_and_files_back(run_steps, netns):
    args = {'addresses': ['10.98.0.14', 'fd98::14'], 'persistence': 'networkd'}
    result, shown, files = run_steps([('module', args, False, False, [(netns.ATOMIC_MOVE, [2])]), ('sh', SHOW), ('sh', FILES)])
    assert result.get('failed') is True
    assert result['rollback']['undone'] == ['write %s/05-lvs-cluster-lo.network' % NETWORKD,
                                            'add fd98::14/128 to lo', 'add 10.98.0.14/32 to lo']
    assert result['added'] == [] and result['changed_files'] == []
    assert lo_addresses(shown) == ['127.0.0.1/8', '::1/128']
    assert files.strip() == ''


def test_an_undo_that_fails_is_reported_with_what_stays_done(run_steps, netns):
    # the 2nd add fails, and so does the removal of the 1st: it stays, and the result says so
    args = {'addresses': ['10.98.0.15', '10.98.0.16'], 'persistence': 'none'}
    result, shown = run_steps([('module', args, False, False, [(netns.NETLINK_ADD, [2]), (netns.NETLINK_DELETE, [1])]), ('sh', SHOW)])
    assert result.get('failed') is True
    assert result['added'] == ['10.98.0.15/32'] and result['changed'] is True
    assert result['rollback']['not_restored'][0].startswith('add 10.98.0.15/32 to lo: ')
    assert 'could NOT restore: add 10.98.0.15/32 to lo' in result['msg']
    assert '10.98.0.15/32' in lo_addresses(shown) and '10.98.0.16/32' not in lo_addresses(shown)


IFUP = next((path for path in ('/sbin/ifup', '/usr/sbin/ifup') if os.path.exists(path)), None)


@pytest.mark.skipif(IFUP is None or not os.path.isdir('/etc/network/interfaces.d'), reason='needs ifupdown installed')
def test_ifupdown_brings_the_addresses_back_on_ifup(run_steps):
    setup = ('mkdir -p /run/network && mount -t tmpfs tmpfs /run/network && '
             "printf 'source /etc/network/interfaces.d/*\\n' > /run/network/interfaces.main && "
             'mount --bind /run/network/interfaces.main /etc/network/interfaces')
    boot = 'ip addr flush dev lo && ip link set lo down && %s -a >/dev/null 2>&1; ip -j addr show dev lo' % IFUP
    dummy, result, text, shown, gone, files = run_steps([
        ('sh', setup),
        ('module', {'addresses': ['10.98.0.1', 'fd98::1'], 'persistence': 'ifupdown'}),
        ('sh', 'cat /etc/network/interfaces.d/lvs-cluster-vip-lo'),
        ('sh', boot),
        ('module', {'addresses': ['10.98.0.1', 'fd98::1'], 'state': 'absent'}),
        ('sh', 'ls -A /etc/network/interfaces.d'),
    ])
    assert result['changed'] is True and result['persistence'] == 'ifupdown'
    assert 'auto lo' in text.splitlines() and '    address fd98::1/128' in text.splitlines()
    # after a simulated boot (lo down and empty, then ifup -a) the addresses are back
    assert {'10.98.0.1/32', 'fd98::1/128', '127.0.0.1/8'} <= set(lo_addresses(shown))
    assert gone['changed'] is True and gone['changed_files'] == ['/etc/network/interfaces.d/lvs-cluster-vip-lo']
    assert files.strip() == ''
