# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The three IPVS modules end to end in-process: the real modules and the real IpvsClient, whose netlink
requests go to an in-memory stand-in of the kernel's IPVS family (ipvs_kernel.py) instead of a socket.

This machine has no IPVS; the real-kernel runs are molecule/modules/tasks/ipvs_verify.yml. These tests
cover the module glue: check mode, diff, idempotence, return values, errors, rollback, drain waiting.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import errno
import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs as ipvs
from ansible_collections.lvs.cluster.plugins.modules import ipvs_info, ipvs_server, ipvs_service
from ansible_collections.lvs.cluster.tests.unit.plugins.module_utils import ipvs_kernel

TABLE = None


@pytest.fixture(autouse=True)
def fake_kernel(monkeypatch):
    global TABLE
    TABLE = ipvs_kernel.install(monkeypatch)
    monkeypatch.setattr(ipvs_server, 'DRAIN_POLL_SECONDS', 0.01)
    monkeypatch.setattr(ipvs_server, 'DRAIN_SETTLE_SECONDS', 0.02)
    yield TABLE


def run(module, args, check=False, diff=False, capsys=None):
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


WEB = dict(address='10.99.0.1', port=80)


def test_service_create_check_mode_diff_and_idempotence(capsys):
    args = dict(WEB, scheduler='wrr', servers=[dict(address='10.99.1.1', weight=3), dict(address='10.99.1.2')])
    checked = run(ipvs_service, args, check=True, diff=True, capsys=capsys)
    assert checked['changed'] and TABLE.writes == 0 and TABLE.table == {}
    assert checked['diff']['before'] == ''
    assert checked['diff']['after'].splitlines()[0] == '-A -t 10.99.0.1:80 -s wrr'
    done = run(ipvs_service, args, diff=True, capsys=capsys)
    assert done['changed'] and TABLE.writes == 3
    assert done['diff'] == checked['diff']
    assert [s['weight'] for s in done['service']['servers']] == [3, 1]
    again = run(ipvs_service, args, diff=True, capsys=capsys)
    assert not again['changed'] and again['actions'] == [] and TABLE.writes == 3
    assert again['service']['scheduler'] == 'wrr'


def test_service_update_is_in_place_and_purge_is_scoped(capsys):
    TABLE.add(dict(WEB, scheduler='rr'), [dict(address='10.99.1.1'), dict(address='10.99.1.2')])
    TABLE.add(dict(address='10.99.0.2', port=80), [dict(address='10.99.1.9')])
    other = TABLE.rules().split('-A -t 10.99.0.2:80')[1]
    result = run(ipvs_service, dict(WEB, scheduler='wlc', servers=[dict(address='10.99.1.1')], purge_servers=True), capsys=capsys)
    assert result['actions'] == ['remove unlisted server 10.99.1.2:80', 'update service TCP 10.99.0.1:80 in place: scheduler rr -> wlc']
    assert TABLE.rules().split('-A -t 10.99.0.2:80')[1] == other


def test_service_absent(capsys):
    TABLE.add(WEB, [dict(address='10.99.1.1')])
    result = run(ipvs_service, dict(WEB, state='absent'), capsys=capsys)
    assert result['changed'] and result['service'] is None and TABLE.table == {}
    assert not run(ipvs_service, dict(WEB, state='absent'), capsys=capsys)['changed']


def test_kernel_refusal_reports_unchanged_and_keeps_table(capsys):
    TABLE.add(WEB, [dict(address='10.99.1.1')])
    before = TABLE.rules()
    TABLE.refuse[(ipvs.CMD_SET_SERVICE, 'rr')] = errno.EINVAL
    result = run(ipvs_service, dict(WEB, scheduler='rr', servers=[dict(address='10.99.1.1', weight=5)]), capsys=capsys)
    assert result['failed'] and not result['changed'] and 'rolled back' in result['msg']
    assert TABLE.rules() == before


@pytest.mark.parametrize('module, args, option', [
    (ipvs_service, dict(WEB, scheduler='rr', sh_port=True), 'sh_port'),
    (ipvs_service, dict(WEB, servers=[dict(address='10.99.1.1', port=81)]), 'servers[0].port'),
    (ipvs_service, dict(WEB, state='absent', servers=[]), 'servers'),
    (ipvs_server, dict(WEB, servers=[dict(address='10.99.1.1')]), 'address'),
    (ipvs_server, dict(WEB, servers=[]), 'servers'),
    (ipvs_server, dict(WEB, drain_timeout=3, servers=[dict(address='10.99.1.1')]), 'drain_timeout'),
    (ipvs_server, dict(WEB, state='drained', servers=[dict(address='10.99.1.1')]), 'servers[0]'),
    (ipvs_info, dict(family='ipv6'), 'family'),
])
def test_bad_input_fails_naming_the_option_without_writing(module, args, option, capsys):
    if module is not ipvs_server or option != 'address':
        TABLE.add(WEB)
    result = run(module, args, capsys=capsys)
    assert result['failed'] and result['msg'].startswith(option + ':')
    assert TABLE.writes == 0


def test_no_ipvs_in_the_kernel(capsys):
    TABLE.missing = True
    result = run(ipvs_info, {}, capsys=capsys)
    assert result['failed'] and 'the kernel has no IPVS (load ip_vs)' in result['msg']


def test_server_present_touches_only_listed_servers(capsys):
    TABLE.add(WEB, [dict(address='10.99.1.1'), dict(address='10.99.1.2')])
    result = run(ipvs_server, dict(WEB, servers=[dict(address='10.99.1.3', weight=4)]), capsys=capsys)
    assert result['actions'] == ['add server 10.99.1.3:80']
    assert [s['address'] for s in result['service']['servers']] == ['10.99.1.1', '10.99.1.2', '10.99.1.3']


def test_drain_waits_for_active_connections_then_removes(capsys):
    TABLE.add(WEB, [dict(address='10.99.1.1', weight=5), dict(address='10.99.1.2')])
    TABLE.active[('10.99.1.1', 80)] = [3, 2, 1, 0]
    result = run(ipvs_server, dict(WEB, state='drained', drain_timeout=10, remove_after_drain=True,
                                   servers=[dict(address='10.99.1.1')]), capsys=capsys)
    assert result['changed']
    assert result['actions'] == ['drain server 10.99.1.1:80: weight 5 -> 0', 'remove drained server 10.99.1.1:80']
    assert result['drain'][0]['removed'] and result['drain'][0]['active_connections'] == 0
    assert TABLE.active[('10.99.1.1', 80)] == [0]  # it polled until zero
    assert [s['address'] for s in result['service']['servers']] == ['10.99.1.2']


def test_drain_counts_only_after_connections_being_opened_have_settled(capsys, monkeypatch):
    # A connection scheduled just before the weight change is inactive (SYN_RECV) for a round trip; the first
    # count must come after the settle time, never straight after the weight write.
    events = []
    real_servers = ipvs.IpvsClient.servers
    monkeypatch.setattr(ipvs.IpvsClient, 'servers', lambda self, service, counters=True: events.append('read') or real_servers(self, service, counters))
    monkeypatch.setattr(ipvs_server.time, 'sleep', events.append)
    real_apply = ipvs.IpvsClient.apply
    monkeypatch.setattr(ipvs.IpvsClient, 'apply', lambda self, ops: events.append('write') or real_apply(self, ops))
    TABLE.add(WEB, [dict(address='10.99.1.1', weight=5)])
    TABLE.active[('10.99.1.1', 80)] = [0]
    result = run(ipvs_server, dict(WEB, state='drained', drain_timeout=10, remove_after_drain=True,
                                   servers=[dict(address='10.99.1.1')]), capsys=capsys)
    assert result['drain'][0]['removed']
    weight_write = events.index('write')
    assert events[weight_write + 1:weight_write + 3] == [0.02, 'read']


def test_drain_timeout_fails_keeps_weight_zero_and_removes_nothing(capsys):
    TABLE.add(WEB, [dict(address='10.99.1.1', weight=5)])
    TABLE.active[('10.99.1.1', 80)] = [2]
    result = run(ipvs_server, dict(WEB, state='drained', drain_timeout=1, remove_after_drain=True,
                                   servers=[dict(address='10.99.1.1')]), capsys=capsys)
    assert result['failed'] and result['msg'].startswith('drain_timeout:') and '10.99.1.1:80 (2 active)' in result['msg']
    assert result['changed']  # the weight did go to 0, on purpose
    (_svc, servers), = list(TABLE.table.values())
    assert [(s['address'], s['weight']) for s in servers.values()] == [('10.99.1.1', 0)]


@pytest.mark.parametrize('service, counts, quiescent, waits_for, busy', [
    # TCP: TIME_WAIT and other inactive entries are not flows; templates of a non-persistent service do not exist
    (dict(WEB), (0, 4, 0), '0', ['active_connections'], None),
    # UDP: every flow is inactive to IPVS, so a UDP drain waits for them
    (dict(WEB, protocol='udp', port=53), (0, 2, 0), '0', ['active_connections', 'inactive_connections'],
     '10.99.1.1:53 (0 active, 2 inactive)'),
    # persistent: a returning client is sent back while its template lives
    (dict(WEB, persistence_timeout=300), (0, 0, 1), '0', ['active_connections', 'persistent_connections'],
     '10.99.1.1:80 (0 active, 1 persistence templates)'),
    # unless the kernel expires a template of a weight-0 server when its client returns
    (dict(WEB, persistence_timeout=300), (0, 0, 1), '1', ['active_connections'], None),
])
def test_drain_waits_for_the_flows_of_its_kind_of_service(service, counts, quiescent, waits_for, busy, capsys, monkeypatch, tmp_path):
    sysctl = tmp_path / 'expire_quiescent_template'
    sysctl.write_text(quiescent + '\n')
    monkeypatch.setattr(ipvs_server, 'QUIESCENT_TEMPLATE_SYSCTL', str(sysctl))
    identity = dict((key, service[key]) for key in ('address', 'port', 'protocol') if key in service)
    TABLE.add(service, [dict(address='10.99.1.1', weight=5)])
    TABLE.active[('10.99.1.1', identity['port'])] = [counts]
    result = run(ipvs_server, dict(identity, state='drained', drain_timeout=1, remove_after_drain=True,
                                   servers=[dict(address='10.99.1.1')]), capsys=capsys)
    assert result['drain'][0]['waited_for'] == waits_for
    if busy:
        assert result['failed'] and ('still carry flows: %s.' % busy) in result['msg']
        assert not result['drain'][0]['removed'] and len(TABLE.rules().splitlines()) == 2
    else:
        assert not result.get('failed') and result['drain'][0]['removed'] and len(TABLE.rules().splitlines()) == 1


def test_a_missing_quiescent_template_sysctl_means_templates_are_waited_for(tmp_path):
    assert not ipvs_server.templates_expire_at_once(str(tmp_path / 'absent'))


def test_drain_in_check_mode_neither_writes_nor_waits(capsys):
    TABLE.add(WEB, [dict(address='10.99.1.1', weight=5)])
    TABLE.active[('10.99.1.1', 80)] = [2]
    result = run(ipvs_server, dict(WEB, state='drained', drain_timeout=600, remove_after_drain=True,
                                   servers=[dict(address='10.99.1.1')]), check=True, diff=True, capsys=capsys)
    assert result['changed'] and TABLE.writes == 0
    assert result['diff']['after'] == '-A -t 10.99.0.1:80 -s wlc\n'


def test_drained_server_that_is_missing_fails_naming_it(capsys):
    TABLE.add(WEB, [dict(address='10.99.1.2')])
    result = run(ipvs_server, dict(WEB, state='drained', servers=[dict(address='10.99.1.2'), dict(address='10.99.1.1')]), capsys=capsys)
    assert result['failed'] and not result['changed'] and TABLE.writes == 0
    assert result['msg'].startswith('servers[1]: 10.99.1.1:80 is not a real server of TCP 10.99.0.1:80')


@pytest.mark.parametrize('state, option', [('drained', 'weight'), ('absent', 'forwarding'), ('drained', 'tunnel_port')])
def test_settings_a_drained_or_absent_entry_ignores_are_refused(state, option, capsys):
    TABLE.add(WEB, [dict(address='10.99.1.1'), dict(address='10.99.1.2')])
    entry = dict(address='10.99.1.2', **{option: 'nat' if option == 'forwarding' else 3})
    result = run(ipvs_server, dict(WEB, state=state, servers=[dict(address='10.99.1.1'), entry]), capsys=capsys)
    assert result['failed'] and result['msg'].startswith('servers[1].%s: is ignored by state %s' % (option, state))
    assert TABLE.writes == 0


def test_drain_removal_refused_part_way_restores_every_server_as_the_kernel_had_it(capsys):
    TABLE.add(WEB, [dict(address='10.99.1.1', forwarding='nat', weight=5, upper_threshold=7), dict(address='10.99.1.2', forwarding='nat'),
                    dict(address='10.99.1.3')])
    TABLE.refuse[(ipvs.CMD_DEL_DEST, '10.99.1.2')] = errno.EBUSY
    result = run(ipvs_server, dict(WEB, state='drained', remove_after_drain=True,
                                   servers=[dict(address='10.99.1.1'), dict(address='10.99.1.2')]), capsys=capsys)
    assert result['failed'] and 'rolled back' in result['msg'] and 'FAILED' not in result['msg']
    assert TABLE.rules() == (
        '-A -t 10.99.0.1:80 -s wlc\n-a -t 10.99.0.1:80 -r 10.99.1.1:80 -m -w 0 -x 7\n'
        '-a -t 10.99.0.1:80 -r 10.99.1.2:80 -m -w 0\n-a -t 10.99.0.1:80 -r 10.99.1.3:80 -g -w 1\n')


def test_info_filters_one_service_and_lists_all(capsys):
    TABLE.add(WEB, [dict(address='10.99.1.1')])
    TABLE.add(dict(address=None, port=None, fwmark=5, family='ipv6'))
    everything = run(ipvs_info, {}, check=True, capsys=capsys)
    assert [s['fwmark'] or s['address'] for s in everything['services']] == ['10.99.0.1', 5]
    one = run(ipvs_info, dict(fwmark=5, family='ipv6'), capsys=capsys)
    assert len(one['services']) == 1 and one['services'][0]['family'] == 'ipv6'
    none = run(ipvs_info, dict(fwmark=5), capsys=capsys)
    assert none['services'] == [] and not none['changed']


# ------------------------------------------------------------------ ipvs_service with a list of services

TABLE_ARGS = dict(services=[
    dict(WEB, scheduler='rr', servers=[dict(address='10.99.1.1'), dict(address='10.99.1.2', weight=3)], purge_servers=True),
    dict(address='10.99.0.2', port=443, scheduler='sh', persistence_timeout=300, servers=[dict(address='10.99.1.1')]),
    dict(fwmark=7, scheduler='wrr', servers=[dict(address='10.99.1.3')]),
])


def test_services_list_converges_in_one_batch_with_check_diff_and_idempotence(capsys):
    checked = run(ipvs_service, TABLE_ARGS, check=True, diff=True, capsys=capsys)
    assert checked['changed'] and TABLE.writes == 0 and TABLE.table == {}
    assert 'service' not in checked and len(checked['services']) == 3
    done = run(ipvs_service, TABLE_ARGS, diff=True, capsys=capsys)
    assert done['diff'] == checked['diff'] and done['actions'] == checked['actions']
    assert TABLE.writes == 3 + 4  # three services, four real servers
    assert TABLE.rules() == done['diff']['after']
    assert [svc['scheduler'] for svc in done['services']] == ['rr', 'sh', 'wrr']
    assert done['services'][1]['persistence_timeout'] == 300
    again = run(ipvs_service, TABLE_ARGS, capsys=capsys)
    assert not again['changed'] and again['actions'] == [] and TABLE.writes == 7


def test_services_list_changes_only_what_differs_and_never_touches_unlisted_services(capsys):
    run(ipvs_service, TABLE_ARGS, capsys=capsys)
    TABLE.add(dict(address='10.99.0.9', port=25), [dict(address='10.99.1.9')])
    changed = copy.deepcopy(TABLE_ARGS)
    changed['services'][0]['servers'][1]['weight'] = 5
    changed['services'].append(dict(address='10.99.0.2', port=443, state='absent'))
    del changed['services'][1]
    result = run(ipvs_service, changed, capsys=capsys)
    assert result['actions'] == ['update server 10.99.1.2:80: weight 3 -> 5', 'remove service TCP 10.99.0.2:443 with its 1 server(s)']
    assert result['services'][-1] is None
    # counters are read back for the changed service only; the unchanged one is returned without them
    assert result['services'][0]['stats']['connections'] == 101 and result['services'][0]['servers'][0]['stats']
    assert 'stats' not in result['services'][1] and 'stats' not in result['services'][1]['servers'][0]
    assert '-A -t 10.99.0.9:25' in TABLE.rules()


def test_services_list_refusal_rolls_back_every_service(capsys):
    TABLE.refuse[(ipvs.CMD_NEW_DEST, '10.99.1.3')] = errno.EINVAL
    result = run(ipvs_service, TABLE_ARGS, capsys=capsys)
    assert result['failed'] and not result['changed'] and TABLE.table == {}


@pytest.mark.parametrize('args, option', [
    (dict(services=[dict(WEB), dict(WEB, scheduler='rr')]), 'services[1]: names the same service as services[0]'),
    (dict(services=[dict(WEB), dict(address='10.99.0.2', port=80, servers=[dict(address='10.99.1.1', port=81)])]),
     'services[1].servers[0].port:'),
    (dict(services=[dict(WEB, sched='rr')]), 'services[0]:'),
    (dict(services=[dict(port=80)]), 'services[0].'),
    (dict(services=[dict(WEB, purge_servers=True)]), 'services[0].purge_servers:'),
    (dict(WEB, services=[dict(WEB)]), 'services: describes every service'),
])
def test_services_list_bad_input_names_the_entry_and_writes_nothing(args, option, capsys):
    result = run(ipvs_service, args, capsys=capsys)
    assert result['failed'] and result['msg'].startswith(option)
    assert TABLE.writes == 0 and TABLE.table == {}


@pytest.mark.parametrize('entry', [
    dict(WEB),
    dict(WEB, scheduler='sh', sh_port=True, persistence_timeout=60, persistence_netmask='255.255.255.0', state='present',
         servers=[dict(address='10.99.1.1', weight=3, forwarding='tun', tunnel_type='gre', tunnel_checksum='csum')], purge_servers=True),
    dict(fwmark=3, family='ipv6', servers=[]),
])
def test_typed_entries_skip_the_validator_with_the_same_result(entry):
    fast = ipvs_service.typed_entry(entry)
    assert fast is not None
    assert fast == ipvs_service.ENTRY_VALIDATOR.validate(entry).validated_parameters


@pytest.mark.parametrize('entry', [
    dict(WEB, port='80'),                                   # converted by the validator
    dict(WEB, one_packet='yes'),
    dict(WEB, scheduler='fastest'),                         # refused by it, with its wording
    dict(WEB, weight=3),                                    # not an option of a service
    dict(WEB, servers=[dict(address='10.99.1.1', weight=True)]),
    dict(WEB, servers=[dict(port=80)]),
    dict(WEB, servers=[dict(address='10.99.1.1', colour='red')]),
])
def test_entries_needing_conversion_or_an_error_go_to_the_validator(entry):
    assert ipvs_service.typed_entry(entry) is None
