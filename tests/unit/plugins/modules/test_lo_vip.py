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
import shlex
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
COLLECTIONS = os.path.join(ROOT, '.collections')
MODULE = 'ansible_collections.lvs.cluster.plugins.modules.lo_vip'
NETWORKD = '/etc/systemd/network'
DROPINS = NETWORKD + '/05-lvs-cluster-lo.network.d'
SEP = '@@STEP@@'


def _unshare_works():
    try:
        return subprocess.call(['unshare', '-n', '-m', 'true'], stderr=subprocess.DEVNULL) == 0
    except OSError:
        return False


def _has_pyroute2():
    try:
        import pyroute2  # noqa: F401  pylint: disable=unused-import
        return True
    except ImportError:
        return False


pytestmark = pytest.mark.skipif(not _unshare_works() or not os.path.isdir(NETWORKD) or not _has_pyroute2(),
                                reason='needs root, unshare -n -m, /etc/systemd/network and pyroute2')


def run_steps(steps):
    """Run steps in one fresh namespace; ('module', args, check, diff) or ('sh', command)."""
    lines = ['set -u', 'mount -t tmpfs tmpfs %s' % NETWORKD, 'ip link set lo up']
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
    return [json.loads(chunk) if step[0] == 'module' else chunk for step, chunk in zip(steps, chunks)]


def lo_addresses(text):
    """['127.0.0.1/8', ...] from `ip -j addr show dev lo` (the oracle, not the module)."""
    return ['%s/%d' % (a['local'], a['prefixlen']) for a in json.loads(text)[0]['addr_info']]


SHOW = 'ip -j addr show dev lo'
FILES = 'find %s -type f | sort; cat %s/*.conf 2>/dev/null || true' % (NETWORKD, DROPINS)


def test_networkd_present_check_diff_idempotent_absent():
    args = {'addresses': ['10.98.0.1', 'fd98::1/128'], 'persistence': 'networkd'}
    steps = [
        ('module', args, True, True),
        ('sh', SHOW),
        ('sh', FILES),
        ('module', args, False, True),
        ('sh', SHOW),
        ('sh', FILES),
        ('module', args),
        ('module', dict(args, state='absent'), True),
        ('module', dict(args, state='absent'), False, True),
        ('sh', SHOW),
        ('sh', FILES),
        ('module', dict(args, state='absent')),
    ]
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


def test_other_prefix_is_replaced_and_persistence_none_writes_nothing():
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


def test_existing_network_file_for_lo_gets_the_dropin():
    own = "printf '[Match]\\nName=lo\\n\\n[Network]\\nKeepConfiguration=yes\\n' > %s/50-lo.network" % NETWORKD
    dummy, result, files = run_steps([
        ('sh', own),
        ('module', {'addresses': ['10.98.0.3'], 'persistence': 'networkd'}),
        ('sh', 'find %s -type f | sort' % NETWORKD),
    ])
    assert result['changed'] is True
    assert files.splitlines() == [NETWORKD + '/50-lo.network',
                                  NETWORKD + '/50-lo.network.d/lvs-vip-10.98.0.3-32.conf']


def test_catch_all_network_file_sorting_first_is_refused():
    catch_all = "printf '[Match]\\nName=*\\n' > %s/00-all.network" % NETWORKD
    dummy, result, shown = run_steps([
        ('sh', catch_all),
        ('module', {'addresses': ['10.98.0.4'], 'persistence': 'networkd'}),
        ('sh', SHOW),
    ])
    assert result.get('failed') is True
    assert result['msg'].startswith('persistence: /etc/systemd/network/00-all.network matches lo by a pattern')
    assert '10.98.0.4/32' not in lo_addresses(shown)


def test_missing_tunnel_device_names_the_module():
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
def test_bad_input_fails_before_any_change(args, message):
    args = dict(args, persistence='networkd')
    result, shown, files = run_steps([('module', args), ('sh', SHOW), ('sh', FILES)])
    assert result.get('failed') is True
    assert message in result['msg']
    assert lo_addresses(shown) == ['127.0.0.1/8', '::1/128']
    assert files.strip() == ''


def test_address_on_another_device_is_warned_about():
    dummy, result = run_steps([
        ('sh', 'ip link add v.1 type veth peer name v.2 && ip addr add 10.98.0.10/24 dev v.1'),
        ('module', {'addresses': ['10.98.0.10'], 'persistence': 'none'}),
    ])
    assert result['changed'] is True
    assert '10.98.0.10 is also bound to v.1' in json.dumps(result.get('warnings'))


IFUP = next((path for path in ('/sbin/ifup', '/usr/sbin/ifup') if os.path.exists(path)), None)


@pytest.mark.skipif(IFUP is None or not os.path.isdir('/etc/network/interfaces.d'), reason='needs ifupdown installed')
def test_ifupdown_brings_the_addresses_back_on_ifup():
    setup = ('mkdir -p /run/network && mount -t tmpfs tmpfs /run/network && '
             'mount -t tmpfs tmpfs /etc/network/interfaces.d && '
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
