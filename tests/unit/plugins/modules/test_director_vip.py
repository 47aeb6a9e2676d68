# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""director_vip end to end on this machine's kernel, in a private network and mount namespace
(`unshare -n -m`, tmpfs over /etc/systemd/network and /run/systemd/netif, a veth pair as the
director's interface): nothing outside the namespace changes. Skipped where unshare is not
allowed or pyroute2 is missing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shlex
import sys

import pytest

from lifecycle import lifecycle_steps

MODULE = 'ansible_collections.lvs.cluster.plugins.modules.director_vip'
NETWORKD = '/etc/systemd/network'
NETIF = '/run/systemd/netif'
DROPINS = NETWORKD + '/10-dv0.network.d'
SETUP = [
    'ip link add dv0 type veth peer name dv1',
    'ip link set dv0 up', 'ip link set dv1 up',
    "printf '[Match]\\nName=dv0\\n\\n[Network]\\nAddress=10.97.5.1/24\\n' > %s/10-dv0.network" % NETWORKD,
]

# Receives the ARP frames that reach dv1 (the other end of the pair) until the file STOP appears (at
# most 120 s), then writes DONE: the oracle for gratuitous ARP, independent of the module's frame builder.
# No fixed capture window: under load the module runs can take longer than any window would allow.
CAPTURE = r'''
import os, socket, sys, time
out_path, stop, done = sys.argv[1:4]
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
sock.bind(('dv1', 0x0806))
sock.settimeout(0.2)
end = time.time() + 120
with open(out_path, 'w') as out:
    while time.time() < end and not os.path.exists(stop):
        try:
            out.write(sock.recv(100).hex() + '\n')
            out.flush()
        except socket.timeout:
            pass
open(done, 'w').close()
'''


@pytest.fixture
def run_steps(netns):
    return lambda steps: netns(MODULE, steps, SETUP)


def addresses(text):
    """['10.97.0.10/32', ...] from `ip -j addr show dev dv0` (the oracle, not the module)."""
    return ['%s/%d' % (a['local'], a['prefixlen']) for a in json.loads(text)[0]['addr_info']]


SHOW = 'ip -j addr show dev dv0'
FILES = 'find %s -type f | sort; cat %s/*.conf 2>/dev/null || true' % (NETWORKD, DROPINS)


def test_networkd_present_check_diff_idempotent_absent(run_steps):
    args = {'device': 'dv0', 'addresses': ['10.97.0.10', 'fd97::10/128'], 'persistence': 'networkd',
            'gratuitous_arp': False}
    steps = lifecycle_steps(args, SHOW, FILES)
    (check, ip_check, files_check, applied, ip_applied, files_applied, again,
     absent_check, gone, ip_gone, files_gone, gone_again) = run_steps(steps)
    assert check['changed'] is True and check['added'] == ['10.97.0.10/32', 'fd97::10/128']
    assert check['network_file'] == NETWORKD + '/10-dv0.network'
    assert '10.97.0.10/32' not in addresses(ip_check)
    assert files_check.splitlines() == [NETWORKD + '/10-dv0.network']

    assert applied['changed'] is True and applied['persistence'] == 'networkd'
    assert {'10.97.0.10/32', 'fd97::10/128'} <= set(addresses(ip_applied))
    assert sorted(applied['addresses']) == sorted(addresses(ip_applied))
    assert applied['persistence_files'] == [DROPINS + '/lvs-director-vip-10.97.0.10-32.conf',
                                            DROPINS + '/lvs-director-vip-fd97--10-128.conf']
    assert 'Address=10.97.0.10/32' in files_applied.splitlines()
    assert 'Address=fd97::10/128' in files_applied.splitlines()
    # the host's own file is untouched, and no file of ours was created beside it
    assert [line for line in files_applied.splitlines() if line.endswith('.network')] == [NETWORKD + '/10-dv0.network']
    assert [d['before_header'] for d in applied['diff']][1:] == applied['changed_files']
    assert applied['announced'] == []

    assert again['changed'] is False

    assert absent_check['changed'] is True and absent_check['removed'] == ['10.97.0.10/32', 'fd97::10/128']
    assert gone['changed'] is True
    assert '10.97.0.10/32' not in addresses(ip_gone) and 'fd97::10/128' not in addresses(ip_gone)
    assert files_gone.splitlines() == [NETWORKD + '/10-dv0.network']
    assert gone_again['changed'] is False


def test_the_file_networkd_reports_for_the_link_gets_the_dropins(run_steps):
    uplink = ("printf '[Match]\\nName=dv0\\n' > %s/20-uplink.network && mkdir -p %s/links && "
              "echo NETWORK_FILE=%s/20-uplink.network > %s/links/$(ip -o link show dv0 | cut -d: -f1)"
              % (NETWORKD, NETIF, NETWORKD, NETIF))
    dummy, result, files = run_steps([
        ('sh', uplink),
        ('module', {'device': 'dv0', 'addresses': ['10.97.0.11'], 'persistence': 'networkd'}),
        ('sh', 'find %s -type f | sort' % NETWORKD),
    ])
    if not os.path.isdir(NETIF):
        pytest.skip('no %s to mount a tmpfs over' % NETIF)
    assert result['network_file'] == NETWORKD + '/20-uplink.network'
    assert NETWORKD + '/20-uplink.network.d/lvs-director-vip-10.97.0.11-32.conf' in files.splitlines()


def test_no_network_file_for_the_device_fails_and_changes_nothing(run_steps):
    result, shown, files = run_steps([
        ('module', {'device': 'dv1', 'addresses': ['10.97.0.12'], 'persistence': 'networkd'}),
        ('sh', 'ip -j addr show dev dv1'),
        ('sh', 'find %s -type f | sort' % NETWORKD),
    ])
    assert result.get('failed') is True
    assert result['msg'].startswith('persistence: no .network file names dv1 in [Match] Name=')
    assert '10.97.0.12/32' not in addresses(shown)
    assert files.splitlines() == [NETWORKD + '/10-dv0.network']


def test_other_prefix_is_replaced_and_gratuitous_arp_is_sent_for_new_ipv4_only(run_steps):
    capture = 'mount -t tmpfs tmpfs /mnt && { %s -c %s /mnt/arp.txt /mnt/arp.stop /mnt/arp.done & sleep 1; }' % (
        shlex.quote(sys.executable), shlex.quote(CAPTURE))
    dummy, wide, narrow, same, quiet, frames, mac = run_steps([
        ('sh', capture),
        ('module', {'device': 'dv0', 'addresses': ['10.97.0.13/24', 'fd97::13'], 'allow_non_host_prefix': True,
                    'persistence': 'none'}),
        ('module', {'device': 'dv0', 'addresses': ['10.97.0.13'], 'persistence': 'none'}),
        ('module', {'device': 'dv0', 'addresses': ['10.97.0.13'], 'persistence': 'none'}),
        ('module', {'device': 'dv0', 'addresses': ['10.97.0.14'], 'persistence': 'none', 'gratuitous_arp': False}),
        # the last frames are sent before the module returns; stop the capture once the socket has drained
        ('sh', 'sleep 1; touch /mnt/arp.stop; for i in $(seq 50); do [ -e /mnt/arp.done ] && break; sleep 0.1; done;'
               ' cat /mnt/arp.txt'),
        ('sh', 'cat /sys/class/net/dv0/address 2>/dev/null; ip -j link show dev dv0'),
    ])
    assert wide['announced'] == ['10.97.0.13']
    assert narrow['removed'] == ['10.97.0.13/24'] and narrow['added'] == ['10.97.0.13/32']
    assert narrow['announced'] == ['10.97.0.13']
    assert same['changed'] is False and same['announced'] == []
    assert quiet['changed'] is True and quiet['announced'] == []
    dv0_mac = bytes.fromhex(json.loads(mac.splitlines()[-1])[0]['address'].replace(':', ''))
    seen = []
    for line in frames.split():
        frame = bytes.fromhex(line)
        if frame[6:12] != dv0_mac:
            continue
        opcode = int.from_bytes(frame[20:22], 'big')
        sender_ip = '.'.join(str(b) for b in frame[28:32])
        target_ip = '.'.join(str(b) for b in frame[38:42])
        seen.append((opcode, sender_ip, target_ip, frame[22:28] == dv0_mac))
    # one request and one reply per added IPv4 address (twice 10.97.0.13), none for 10.97.0.14
    assert seen == [(1, '10.97.0.13', '10.97.0.13', True), (2, '10.97.0.13', '10.97.0.13', True)] * 2


@pytest.mark.parametrize('args,message', [
    ({'addresses': ['10.97.0.300']}, "addresses: '10.97.0.300' is not an IPv4 or IPv6 address"),
    ({'addresses': ['10.97.0.21', 'nope']}, "addresses: 'nope' is not an IPv4 or IPv6 address"),
    ({'addresses': ['10.97.0.22/24']}, 'addresses: 10.97.0.22/24 is not a host address (/32)'),
    ({'addresses': ['224.0.0.1']}, 'cannot be a virtual IP'),
    ({'addresses': []}, 'addresses: at least one address is required'),
    ({'addresses': ['10.97.0.23'], 'device': 'lo'}, 'device: lo is a real server device'),
    ({'addresses': ['10.97.0.23'], 'device': 'tunl0'}, 'lvs.cluster.lo_vip'),
    ({'addresses': ['10.97.0.23'], 'device': 'nosuch0'}, 'device: nosuch0 does not exist'),
    ({'addresses': ['10.97.0.23'], 'device': 'x/y'}, "device: 'x/y' is not a valid interface name"),
    ({'addresses': ['10.97.0.23'], 'device': 'dv1'}, 'persistence: no .network file names dv1'),
])
def test_bad_input_fails_before_any_change(run_steps, args, message):
    args = dict({'device': 'dv0'}, **args)
    args['persistence'] = 'networkd'
    before, result, after, files = run_steps([('sh', SHOW), ('module', args), ('sh', SHOW), ('sh', FILES)])
    assert result.get('failed') is True
    assert message in result['msg']
    assert addresses(after) == addresses(before)
    assert files.splitlines() == [NETWORKD + '/10-dv0.network']


def test_address_on_another_device_is_warned_about(run_steps):
    dummy, result = run_steps([
        ('sh', 'ip addr add 10.97.0.30/24 dev dv1'),
        ('module', {'device': 'dv0', 'addresses': ['10.97.0.30'], 'persistence': 'none', 'gratuitous_arp': False}),
    ])
    assert result['changed'] is True
    assert '10.97.0.30 is also bound to dv1' in json.dumps(result.get('warnings'))


def test_a_refused_address_rolls_back_and_nothing_is_announced(run_steps, netns):
    args = {'device': 'dv0', 'addresses': ['10.97.0.30', '10.97.0.31'], 'persistence': 'networkd'}
    result, shown, files = run_steps([('module', args, False, False, [(netns.NETLINK_ADD, [2])]), ('sh', SHOW), ('sh', FILES)])
    assert result.get('failed') is True
    assert result['msg'].startswith('failed, and rolled back 1 earlier step(s): add 10.97.0.31/32 to dv0: ')
    assert result['added'] == [] and result['announced'] == [] and result['changed'] is False
    assert [a for a in addresses(shown) if a.startswith('10.97.0.')] == []
    assert files.strip() == '%s/10-dv0.network' % NETWORKD


def test_a_file_that_cannot_be_written_rolls_back_a_replaced_prefix_too(run_steps, netns):
    wide, result, shown, files = run_steps([
        ('module', {'device': 'dv0', 'addresses': ['10.97.0.32/24'], 'allow_non_host_prefix': True, 'persistence': 'none'}),
        ('module', {'device': 'dv0', 'addresses': ['10.97.0.32'], 'persistence': 'networkd'},
         False, False, [(netns.ATOMIC_MOVE, [1])]),
        ('sh', SHOW),
        ('sh', FILES),
    ])
    assert wide['added'] == ['10.97.0.32/24']
    assert result.get('failed') is True
    assert result['rollback']['undone'] == ['add 10.97.0.32/32 to dv0', 'remove 10.97.0.32/24 from dv0']
    assert result['added'] == [] and result['removed'] == [] and result['changed_files'] == []
    assert '10.97.0.32/24' in addresses(shown) and '10.97.0.32/32' not in addresses(shown)
    assert files.strip() == '%s/10-dv0.network' % NETWORKD
