# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nat_route end to end on this machine's kernel, in a private network and mount namespace
(`unshare -n -m`, tmpfs over /etc/systemd/network and /run/systemd/netif; veth pairs stand for
the real server's inside interface and its "own" uplink): nothing outside the namespace
changes. Skipped where unshare is not allowed or pyroute2 is missing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from lifecycle import lifecycle_steps

MODULE = 'ansible_collections.lvs.cluster.plugins.modules.nat_route'
NETWORKD = '/etc/systemd/network'
NETIF = '/run/systemd/netif'
DROPINS = NETWORKD + '/10-nat0.network.d'

# nat0: the inside interface (director 10.97.1.1, fd97:1::1); up0: the host's own uplink, whose
# default route (via 10.97.2.254) the module replaces.
SETUP = [
    'ip link add nat0 type veth peer name natp0', 'ip link add up0 type veth peer name upp0',
    'for d in nat0 natp0 up0 upp0; do ip link set $d up; done',
    'ip addr add 10.97.1.2/24 dev nat0', 'ip addr add fd97:1::2/64 dev nat0 nodad',
    'ip addr add 10.97.2.2/24 dev up0',
    'ip route add default via 10.97.2.254 dev up0',
    "printf '[Match]\\nName=nat0\\n' > %s/10-nat0.network" % NETWORKD,
    "printf '[Match]\\nName=up0\\n\\n[Network]\\nAddress=10.97.2.2/24\\nGateway=10.97.2.254\\n' > %s/10-up0.network" % NETWORKD,
]


@pytest.fixture
def run_steps(netns):
    return lambda steps: netns(MODULE, steps, SETUP)


def routes(text):
    """['default via 10.97.2.254 dev up0 metric 0', ...] from `ip -j route` (the oracle)."""
    result = []
    for item in json.loads(text):
        if 'gateway' in item:
            result.append('%s via %s dev %s metric %d' % (item['dst'], item['gateway'], item['dev'], item.get('metric', 0)))
    return sorted(result)


SHOW4 = 'ip -j -4 route show table main'
SHOW6 = 'ip -j -6 route show table main'
FILES = 'find %s -type f | sort; cat %s/*.conf 2>/dev/null || true' % (NETWORKD, DROPINS)


def test_default_route_check_diff_replace_idempotent_absent(run_steps):
    args = {'gateway': '10.97.1.1', 'persistence': 'networkd'}
    steps = lifecycle_steps(args, SHOW4, FILES, again=dict(args, destination=['0.0.0.0/0'], device='nat0'))
    (check, ip_check, files_check, applied, ip_applied, files_applied, again,
     absent_check, gone, ip_gone, files_gone, gone_again) = run_steps(steps)
    assert check['changed'] is True and check['device'] == 'nat0' and check['metric'] == 0
    assert check['set'] == ['default via 10.97.1.1 dev nat0 metric 0']
    assert check['replaced'] == ['default via 10.97.2.254 dev up0 metric 0']
    assert check['routes'] == ['default via 10.97.1.1 dev nat0 metric 0']
    assert routes(ip_check) == ['default via 10.97.2.254 dev up0 metric 0']
    assert files_check.splitlines() == [NETWORKD + '/10-nat0.network', NETWORKD + '/10-up0.network']

    assert applied['changed'] is True and applied['network_file'] == NETWORKD + '/10-nat0.network'
    assert routes(ip_applied) == ['default via 10.97.1.1 dev nat0 metric 0']
    assert applied['routes'] == ['default via 10.97.1.1 dev nat0 metric 0']
    assert applied['persistence_files'] == [DROPINS + '/lvs-nat-route-default4-m0.conf']
    lines = files_applied.splitlines()
    assert '[Route]' in lines and 'Destination=0.0.0.0/0' in lines and 'Gateway=10.97.1.1' in lines
    assert not any(line.startswith('Metric=') for line in lines)
    assert 'replaced default via 10.97.2.254 dev up0 metric 0' in json.dumps(applied.get('warnings'))
    assert applied['diff'][0] == {'before_header': 'routes', 'after_header': 'routes',
                                  'before': 'default via 10.97.2.254 dev up0 metric 0\n',
                                  'after': 'default via 10.97.1.1 dev nat0 metric 0\n'}
    assert [d['before_header'] for d in applied['diff']][1:] == applied['changed_files']

    assert again['changed'] is False

    assert absent_check['changed'] is True
    assert absent_check['deleted'] == ['default via 10.97.1.1 dev nat0 metric 0']
    assert gone['changed'] is True and gone['changed_files'] == [DROPINS + '/lvs-nat-route-default4-m0.conf']
    # networkd is not running in the namespace: nothing to reconfigure, and a warning says so
    assert gone['restored'] == []
    assert routes(ip_gone) == []
    assert files_gone.splitlines() == [NETWORKD + '/10-nat0.network', NETWORKD + '/10-up0.network']
    assert gone_again['changed'] is False


def test_absent_plans_networkctl_reconfigure_of_the_link_whose_file_gives_the_route(run_steps):
    state = ('mkdir -p {n}/links && touch {n}/state && '
             'for d in nat0 up0; do echo NETWORK_FILE={w}/10-$d.network > {n}/links/$(ip -o link show $d | cut -d: -f1); done'
             .format(n=NETIF, w=NETWORKD))
    dummy, dummy2, planned = run_steps([
        ('module', {'gateway': '10.97.1.1', 'persistence': 'none'}),
        ('sh', state),
        ('module', {'gateway': '10.97.1.1', 'state': 'absent'}, True),
    ])
    if not os.path.isdir(NETIF):
        pytest.skip('no %s to mount a tmpfs over' % NETIF)
    assert planned['changed'] is True
    assert planned['restored'] == ['networkctl reconfigure up0 (%s/10-up0.network: a route to default (Gateway=10.97.2.254))'
                                   % NETWORKD]


def test_prefixes_metric_ipv6_and_absent_leaves_other_routers_alone(run_steps):
    steps = [
        ('module', {'gateway': '10.97.1.1', 'destinations': ['10.97.200.0/24', '10.97.211.7'], 'metric': 50,
                    'persistence': 'none'}),
        ('module', {'gateway': 'fd97:1::1', 'destinations': ['fd97:200::/64', 'default'], 'persistence': 'none'}),
        ('sh', SHOW4),
        ('sh', SHOW6),
        # the default route via up0 is not ours: absent leaves it
        ('module', {'gateway': '10.97.1.1', 'state': 'absent', 'persistence': 'none'}),
        ('module', {'gateway': '10.97.1.1', 'destinations': ['10.97.200.0/24', '10.97.211.7'], 'metric': 50,
                    'state': 'absent', 'persistence': 'none'}),
        ('sh', SHOW4),
    ]
    prefixes, ipv6, shown4, shown6, not_ours, gone, after = run_steps(steps)
    assert prefixes['set'] == ['10.97.200.0/24 via 10.97.1.1 dev nat0 metric 50', '10.97.211.7/32 via 10.97.1.1 dev nat0 metric 50']
    assert routes(shown4) == ['10.97.200.0/24 via 10.97.1.1 dev nat0 metric 50', '10.97.211.7 via 10.97.1.1 dev nat0 metric 50',
                              'default via 10.97.2.254 dev up0 metric 0']
    assert ipv6['metric'] == 1024 and ipv6['destinations'] == ['fd97:200::/64', 'default']
    assert routes(shown6) == ['default via fd97:1::1 dev nat0 metric 1024', 'fd97:200::/64 via fd97:1::1 dev nat0 metric 1024']
    assert not_ours['changed'] is False and not_ours['deleted'] == []
    assert gone['changed'] is True and len(gone['deleted']) == 2
    assert routes(after) == ['default via 10.97.2.254 dev up0 metric 0']


def test_absent_works_when_the_gateway_is_no_longer_connected(run_steps):
    gone, files = run_steps([
        ('module', {'gateway': '10.97.1.1', 'destinations': ['10.97.200.0/24'], 'persistence': 'networkd'}),
        ('sh', 'ip addr flush dev nat0'),
        ('module', {'gateway': '10.97.1.1', 'destinations': ['10.97.200.0/24'], 'state': 'absent'}),
        ('sh', 'find %s -type f | sort' % NETWORKD),
    ])[2:]
    # the kernel dropped the route with the address; the drop-in is found by destination, metric and gateway
    assert gone['changed'] is True and gone['device'] is None and gone['deleted'] == []
    assert gone['changed_files'] == [DROPINS + '/lvs-nat-route-10.97.200.0-24-m0.conf']
    assert files.splitlines() == [NETWORKD + '/10-nat0.network', NETWORKD + '/10-up0.network']


@pytest.mark.parametrize('args,message', [
    ({'gateway': '10.97.1.300'}, "gateway: '10.97.1.300' is not an IPv4 or IPv6 address"),
    ({'gateway': '10.97.1.2'}, 'gateway: 10.97.1.2 is an address of this host (on nat0)'),
    ({'gateway': '10.97.9.1'}, 'gateway: no device of this host has a connected subnet holding 10.97.9.1'),
    ({'gateway': '10.97.1.1', 'device': 'up0'}, 'gateway: 10.97.1.1 is not in a subnet connected to up0'),
    ({'gateway': '10.97.1.1', 'device': 'nosuch0'}, 'device: nosuch0 does not exist'),
    ({'gateway': '10.97.1.1', 'device': 'lo'}, 'device: lo cannot reach a gateway'),
    ({'gateway': '10.97.1.1', 'destinations': ['fd97::/64']}, 'destinations: fd97::/64 is IPv6 but the gateway 10.97.1.1 is IPv4'),
    ({'gateway': '10.97.1.1', 'destinations': ['10.97.200.1/24']}, "destinations: '10.97.200.1/24' is not an IPv4 or IPv6 prefix"),
    ({'gateway': '10.97.1.1', 'destinations': ['10.97.1.0/24']}, 'destinations: 10.97.1.0/24 holds the gateway 10.97.1.1'),
    ({'gateway': '10.97.1.1', 'metric': -1}, 'metric: must be an integer from 0 to 4294967295'),
    ({'gateway': '10.97.1.1', 'device': 'natp0', 'persistence': 'networkd'}, 'gateway: 10.97.1.1 is not in a subnet connected to natp0'),
])
def test_bad_input_fails_before_any_change(run_steps, args, message):
    args = dict({'persistence': 'networkd'}, **args)
    before, result, after, files = run_steps([('sh', SHOW4), ('module', args), ('sh', SHOW4), ('sh', FILES)])
    assert result.get('failed') is True
    assert message in result['msg']
    assert routes(after) == routes(before)
    assert files.splitlines() == [NETWORKD + '/10-nat0.network', NETWORKD + '/10-up0.network']


def test_no_network_file_for_the_device_fails_and_changes_nothing(run_steps):
    result, shown, files = run_steps([
        ('sh', 'ip addr add 10.97.4.2/24 dev natp0'),
        ('module', {'gateway': '10.97.4.1', 'persistence': 'networkd'}),
        ('sh', SHOW4),
        ('sh', 'find %s -type f | sort' % NETWORKD),
    ])[1:]
    assert result.get('failed') is True
    assert result['msg'].startswith('persistence: no .network file names natp0 in [Match] Name=')
    assert routes(shown) == ['default via 10.97.2.254 dev up0 metric 0']
    assert files.splitlines() == [NETWORKD + '/10-nat0.network', NETWORKD + '/10-up0.network']


def test_a_file_that_cannot_be_written_puts_the_replaced_default_route_back(run_steps, netns):
    args = {'gateway': '10.97.1.1', 'persistence': 'networkd'}
    result, shown, files = run_steps([('module', args, False, False, [(netns.ATOMIC_MOVE, [1])]), ('sh', SHOW4), ('sh', FILES)])
    assert result.get('failed') is True
    assert result['rollback']['undone'] == ['set default via 10.97.1.1 dev nat0 metric 0']
    assert result['set'] == [] and result['changed_files'] == [] and result['changed'] is False
    assert routes(shown) == ['default via 10.97.2.254 dev up0 metric 0']
    assert result['routes'] == ['default via 10.97.2.254 dev up0 metric 0']
    assert files.split() == ['%s/10-nat0.network' % NETWORKD, '%s/10-up0.network' % NETWORKD]


def test_a_refused_second_route_rolls_the_first_back(run_steps, netns):
    args = {'gateway': '10.97.1.1', 'destinations': ['10.97.200.0/24', '10.97.201.0/24'], 'persistence': 'none'}
    result, shown = run_steps([('module', args, False, False, [(netns.NETLINK_REPLACE_ROUTE, [2])]), ('sh', SHOW4)])
    assert result.get('failed') is True
    assert result['msg'].startswith('failed, and rolled back 1 earlier step(s): set 10.97.201.0/24 via 10.97.1.1')
    assert result['set'] == []
    assert routes(shown) == ['default via 10.97.2.254 dev up0 metric 0']
