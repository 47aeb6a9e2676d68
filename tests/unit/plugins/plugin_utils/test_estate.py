"""The estate model: what a director, a real server and keepalived read from one inventory."""

import copy
import re

import pytest

from ansible_collections.lvs.cluster.plugins.plugin_utils import _director_plan, _estate, _ipvs_rules, _realserver_plan, _values

GROUPS = {'web': ['web1', 'web2'], 'db': ['db1'], 'empty': []}
HOSTVARS = {
    'web1': {'ansible_host': '10.0.0.11'},
    'web2': {'ansible_host': '172.31.255.12', 'lvs_address': '10.0.0.12', 'lvs_weight': 3},
    'db1': {'ansible_host': '10.0.1.21', 'lvs_overrides': {'db': {'weight': 5, 'port': 3307}}},
}
WEB = {'name': 'web', 'address': '10.0.0.100', 'port': 80, 'realservers': 'web', 'scheduler': 'rr'}
DB = {'name': 'db', 'address': '10.0.1.100', 'port': 3306, 'realservers': 'db', 'mode': 'nat',
      'nat_gateway': '10.0.1.1', 'persistence_timeout': 300}


def expand(services, hostvars=None, groups=None):
    return _estate.virtual_services(services, hostvars or HOSTVARS, groups or GROUPS)


def test_defaults_and_members_come_from_the_inventory():
    web, = expand([WEB])
    assert (web['mode'], web['protocol'], web['family'], web['owner']) == ('dr', 'tcp', 'ipv4', 'director')
    assert [(m['host'], m['address'], m['port'], m['forwarding'], m['weight']) for m in web['members']] == [
        ('web1', '10.0.0.11', 80, 'dr', 1),
        # lvs_address wins over ansible_host; lvs_weight over the service's weight
        ('web2', '10.0.0.12', 80, 'dr', 3),
    ]


def test_nat_maps_ports_and_per_service_overrides_win():
    db, = expand([DB])
    member, = db['members']
    assert (member['forwarding'], member['port'], member['weight'], member['nat_gateway']) == ('nat', 3307, 5, '10.0.1.1')


def test_snat_forwards_as_nat():
    svc = dict(DB, mode='snat')
    assert expand([svc])[0]['members'][0]['forwarding'] == 'nat'


def test_ipvs_service_args_converge_the_whole_list_and_skip_absent_members():
    hostvars = copy.deepcopy(HOSTVARS)
    hostvars['web1']['lvs_overrides'] = {'web': {'state': 'drained'}}
    hostvars['web2']['lvs_overrides'] = {'web': {'state': 'absent'}}
    web, = expand([WEB], hostvars=hostvars)
    args = _ipvs_rules.ipvs_service_args(web)
    assert args['purge_servers'] is True
    assert args['scheduler'] == 'rr' and args['address'] == '10.0.0.100' and args['port'] == 80
    assert args['servers'] == [{'address': '10.0.0.11', 'port': 80, 'forwarding': 'dr', 'weight': 0}]


def test_fwmark_service_args_carry_the_family():
    svc = {'name': 'mark', 'fwmark': 7, 'realservers': 'web', 'family': 'ipv4'}
    args = _ipvs_rules.ipvs_service_args(expand([svc])[0])
    assert args['fwmark'] == 7 and args['family'] == 'ipv4' and 'address' not in args and 'protocol' not in args


def test_served_by_gives_a_host_its_services_and_its_own_entry():
    services = expand([WEB, DB])
    mine = _estate.served_by(services, 'db1')
    assert [s['name'] for s in mine] == ['db']
    assert mine[0]['member']['host'] == 'db1' and 'members' not in mine[0]
    assert _estate.served_by(services, 'nobody') == []


def test_an_empty_group_is_a_service_with_no_real_servers():
    svc = dict(WEB, realservers='empty')
    assert expand([svc])[0]['members'] == []


def test_ipv6_service():
    hostvars = {'web1': {'lvs_address': 'fd00::11'}, 'web2': {'lvs_address': 'fd00::12'}}
    svc = dict(WEB, address='fd00::100')
    web, = expand([svc], hostvars=hostvars)
    assert web['family'] == 'ipv6' and [m['address'] for m in web['members']] == ['fd00::11', 'fd00::12']


BAD = [
    # (services, hostvars override, words the message must contain)
    ([dict(WEB, mode='dr', realserver_port=8080)], None, ['lvs_virtual_services[web].realserver_port', 'cannot map ports']),
    ([dict(WEB, mode='tun', realserver_port=8080)], None, ['tun mode cannot map ports']),
    ([WEB], {'web1': {'ansible_host': '10.0.0.11', 'lvs_port': 8080}}, ['host web1', 'cannot map ports']),
    ([dict(WEB, scheduler='fastest')], None, ['lvs_virtual_services[web].scheduler', 'must be one of']),
    ([dict(WEB, mode='fullnat')], None, ['lvs_virtual_services[web].mode']),
    ([dict(WEB, address='10.0.0.11')], None, ['VIP 10.0.0.11 is also the address of real server web1']),
    ([dict(DB, nat_gateway=None)], None, ['db1', 'no route back through the director', 'nat_gateway']),
    ([dict(WEB, realservers='nosuchgroup')], None, ["group 'nosuchgroup'", 'does not exist']),
    ([WEB, dict(WEB)], None, ["name 'web' is used twice"]),
    ([WEB, dict(WEB, name='web2')], None, ['same virtual service', 'TCP 10.0.0.100:80']),
    ([dict(WEB, name='Web!')], None, ['.name is required']),
    ([dict(WEB, address='10.0.0.300')], None, ['.address', 'not an IP address']),
    ([dict(WEB, port=70000)], None, ['.port is 70000']),
    ([dict(WEB, port=0)], None, ['only valid for a persistent service']),
    ([dict(WEB, weight=-1)], None, ['.weight is -1']),
    ([dict(WEB, colour='blue')], None, ['unknown key(s) colour']),
    ([dict(WEB, tunnel_type='gue')], None, ['tunnel_type is only for mode tun']),
    ([dict(WEB, mode='tun', tunnel_type='vxlan')], None, ['tunnel_type is', 'ipip, gue, gre']),
    ([{'name': 'm', 'fwmark': 1, 'address': '10.0.0.1', 'realservers': 'web'}], None, ['no address or port']),
    ([dict(WEB, address='fd00::100')], None, ['not of the family']),
    ([dict(WEB, realservers=None)], None, ['.realservers must name the inventory group']),
    ([dict(DB, mode='snat', address='fd00::1')], {'db1': {'lvs_address': 'fd00::2'}}, ['snat is implemented for IPv4']),
    ([WEB], {'web1': {'ansible_host': 'web1.example.com'}}, ['host web1', 'not an IP address']),
    ([WEB], {'web1': {'ansible_host': '10.0.0.11', 'lvs_overrides': {'web': {'colour': 1}}}}, ['lvs_overrides.web has unknown']),
    ([WEB], {'web2': {'lvs_address': '10.0.0.11'}}, ['same real server 10.0.0.11:80']),
    ('web', None, ['must be a list']),
]


@pytest.mark.parametrize('services, hostvars, words', BAD)
def test_bad_estates_are_refused_with_the_variable_and_the_reason(services, hostvars, words):
    merged = copy.deepcopy(HOSTVARS)
    for host, hvars in (hostvars or {}).items():
        merged[host] = hvars
    with pytest.raises(_values.PlanError) as caught:
        expand(services, hostvars=merged)
    for word in words:
        assert word in str(caught.value)


def test_input_is_not_modified():
    services = [copy.deepcopy(WEB)]
    expand(services)
    assert services == [WEB]


def test_realserver_plan_puts_dr_vips_on_lo_and_tun_vips_on_tunnels():
    groups = {'web': ['web1'], 'db': ['web1']}
    services = [dict(WEB, mode='dr'), dict(DB, mode='tun', nat_gateway=None, tunnel_type='gue', tunnel_port=6080),
                dict(WEB, name='web6', mode='tun', address='fd00::100')]
    hostvars = {'web1': {'ansible_host': '10.0.0.11'}}
    with pytest.raises(_values.PlanError):
        expand(services, hostvars=hostvars, groups=groups)  # web6 is IPv6, web1 has only IPv4
    services = services[:2]
    plan = _realserver_plan.realserver_plan(expand(services, hostvars=hostvars, groups=groups), 'web1')
    assert plan['lo'] == ['10.0.0.100'] and plan['tunl0'] == ['10.0.1.100'] and plan['ip6tnl0'] == []
    assert plan['kernel_modules'] == ['ipip', 'fou'] and plan['arp'] and plan['tun']
    assert plan['nat_gateway'] is None and plan['services'] == ['web', 'db']


def test_realserver_plan_nat_gateway_and_absent_members():
    hostvars = copy.deepcopy(HOSTVARS)
    plan = _realserver_plan.realserver_plan(expand([DB, WEB], hostvars=hostvars), 'db1')
    assert plan['nat_gateway'] == '10.0.1.1' and not plan['arp'] and plan['lo'] == []
    hostvars['web1']['lvs_overrides'] = {'web': {'state': 'absent'}}
    assert _realserver_plan.realserver_plan(expand([WEB], hostvars=hostvars), 'web1')['lo'] == []
    # drained still serves (weight 0): the VIP stays so that open connections finish
    hostvars['web1']['lvs_overrides'] = {'web': {'state': 'drained'}}
    assert _realserver_plan.realserver_plan(expand([WEB], hostvars=hostvars), 'web1')['lo'] == ['10.0.0.100']


def test_each_real_servers_part_of_the_estate_gives_the_plan_the_whole_estate_gives():
    hostvars = copy.deepcopy(HOSTVARS)
    hostvars['web2']['lvs_overrides'] = {'web': {'state': 'drained'}}
    groups = dict(GROUPS, db=['db1', 'web2'])
    estate = expand([WEB, dict(WEB, name='alt', port=8080), DB], hostvars=hostvars, groups=groups)
    parts = _estate.by_realserver(estate)
    assert sorted(parts) == ['db1', 'web1', 'web2']
    # web2 is in all three services, with its own member entry alone (drained in web, as its override says)
    assert [svc['name'] for svc in parts['web2']] == ['web', 'alt', 'db']
    assert [svc['members'] for svc in parts['web2']][0] == [estate[0]['members'][1]]
    assert parts['web2'][0]['members'][0]['state'] == 'drained'
    assert all(len(svc['members']) == 1 and svc['member_index'] == {'web2': 0} for svc in parts['web2'])
    assert _estate.is_expanded(parts['web2'])
    for host, part in parts.items():
        assert _realserver_plan.realserver_plan(part, host) == _realserver_plan.realserver_plan(estate, host)
    # the whole estate is left as it was
    assert len(estate[0]['members']) == 2


def test_realserver_plan_refuses_two_nat_gateways():
    groups = {'db': ['db1'], 'db2': ['db1']}
    services = [DB, dict(DB, name='other', address='10.0.1.101', realservers='db2', nat_gateway='10.0.1.2')]
    with pytest.raises(_values.PlanError, match='different gateways'):
        _realserver_plan.realserver_plan(expand(services, groups=groups), 'db1')


def test_ipvsadm_rules_match_ipvsadm_save_format():
    # As `ipvsadm -Sn` prints the table (the modules' own renderer): a persistence netmask as a dotted mask,
    # so that the dr scenario can compare the rules file with the table line for line.
    hostvars = copy.deepcopy(HOSTVARS)
    hostvars['web2']['lvs_overrides'] = {'web': {'state': 'drained'}}
    services = [dict(WEB, persistence_timeout=300, persistence_netmask=24, sh_port=True, scheduler='sh'), DB,
                {'name': 'mark', 'fwmark': 7, 'family': 'ipv4', 'realservers': 'empty', 'scheduler': 'wrr'},
                dict(WEB, name='gone', port=81, state='absent')]
    assert _ipvs_rules.ipvsadm_rules(expand(services, hostvars=hostvars)) == [
        '-A -t 10.0.0.100:80 -s sh -p 300 -M 255.255.255.0 -b sh-port',
        '-a -t 10.0.0.100:80 -r 10.0.0.11:80 -g -w 1',
        '-a -t 10.0.0.100:80 -r 10.0.0.12:80 -g -w 0',
        '-A -t 10.0.1.100:3306 -s wlc -p 300',
        '-a -t 10.0.1.100:3306 -r 10.0.1.21:3307 -m -w 5',
        '-A -f 7 -s wrr',
    ]


def test_ipvsadm_rules_ipv6_and_tunnels():
    hostvars = {'web1': {'lvs_address': 'fd00::11'}, 'web2': {'lvs_address': 'fd00::12'}}
    services = [dict(WEB, address='fd00::100', mode='tun', tunnel_type='gue', tunnel_port=6080)]
    rules = _ipvs_rules.ipvsadm_rules(expand(services, hostvars=hostvars))
    assert rules[0] == '-A -t [fd00::100]:80 -s rr'
    assert rules[1] == '-a -t [fd00::100]:80 -r [fd00::11]:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum'


def test_director_plan_expires_connections_to_gone_servers_unless_told_not_to():
    # Without it a reused client port whose old entry points at a drained server is dropped until the entry expires.
    assert _director_plan.director_plan(expand([WEB]))['sysctls'] == {'net.ipv4.vs.expire_nodest_conn': 1}
    assert _director_plan.director_plan(expand([WEB]), {'expire_nodest_conn': 0})['sysctls'] == {'net.ipv4.vs.expire_nodest_conn': 0}
    # a YAML boolean is written (and compared with the kernel's value) as sysctl prints it
    assert _director_plan.director_plan(expand([WEB]), {'sloppy_tcp': True})['sysctls']['net.ipv4.vs.sloppy_tcp'] == 1
    # a host without a running IPVS service gets no net.ipv4.vs sysctl (the tree exists only once ip_vs is loaded)
    assert _director_plan.director_plan(expand([dict(WEB, state='absent')]))['sysctls'] == {}


def test_director_plan_modules_sysctls_vips_and_ownership():
    services = [dict(WEB, scheduler='wrr'), dict(DB, mode='snat'),
                dict(WEB, name='tun', port=81, mode='tun', tunnel_type='gre', scheduler='sh'),
                dict(WEB, name='kept', port=82, owner='keepalived'),
                dict(WEB, name='old', port=83, state='absent', drain_timeout=30)]
    plan = _director_plan.director_plan(expand(services), {'expire_nodest_conn': 1})
    assert plan['services'] == ['web', 'db', 'tun']
    assert plan['absent'] == ['old']
    # keepalived's service runs in the same kernel: its scheduler (rr) is loaded too
    assert plan['kernel_modules'] == ['ip_vs', 'ip_vs_wrr', 'ip_vs_wlc', 'nf_conntrack', 'xt_ipvs', 'iptable_nat',
                                      'ip_vs_sh', 'ipip', 'ip_gre', 'ip_vs_rr']
    assert plan['sysctls'] == {'net.ipv4.ip_forward': 1, 'net.ipv4.vs.conntrack': 1, 'net.ipv4.vs.expire_nodest_conn': 1}
    assert plan['vips'] == ['10.0.0.100', '10.0.1.100']
    assert [r['name'] for r in plan['records']] == ['web', 'db', 'tun', 'old']
    assert plan['snat'] == [{'name': 'db', 'address': '10.0.1.100', 'port': 3306, 'protocol': 'tcp'}]
    assert not any(':82 ' in line for line in plan['rules'])  # keepalived's service is not the director's


def test_removed_services_are_previous_ones_no_longer_declared_plus_absent_ones():
    plan = _director_plan.director_plan(expand([WEB, dict(WEB, name='old', port=83, state='absent')]))
    previous = [{'name': 'web', 'address': '10.0.0.100', 'port': 80, 'protocol': 'tcp'},
                {'name': 'gone', 'address': '10.0.0.100', 'port': 99, 'protocol': 'tcp'},
                {'name': 'mark', 'fwmark': 9, 'family': 'ipv4'}]
    removed = _director_plan.removed_services(previous, plan)
    assert [r['name'] for r in removed] == ['gone', 'mark', 'old']


def test_leaving_servers_are_kernel_servers_the_estate_no_longer_lists():
    web, = expand([WEB])
    kernel = [{'protocol': 'tcp', 'address': '10.0.0.100', 'port': 80, 'fwmark': None,
               'servers': [{'address': '10.0.0.11', 'port': 80}, {'address': '10.0.0.99', 'port': 80}]},
              {'protocol': 'udp', 'address': '10.0.0.100', 'port': 80, 'fwmark': None,
               'servers': [{'address': '10.0.0.98', 'port': 80}]}]
    assert _director_plan.leaving_servers(web, kernel) == [{'address': '10.0.0.99', 'port': 80}]
    assert _director_plan.kernel_servers({'address': '10.0.0.100', 'port': 80, 'protocol': 'udp'}, kernel) == [
        {'address': '10.0.0.98', 'port': 80}]
    assert _director_plan.leaving_servers(web, []) == []


@pytest.mark.parametrize('field, value', [('address', '[fd00::100]'), ('lvs_address', '[fd00::11]')])
def test_bracketed_ipv6_addresses_are_refused_naming_the_variable(field, value):
    hostvars = copy.deepcopy(HOSTVARS)
    svc = dict(WEB)
    if field == 'address':
        svc['address'] = value
        where = 'lvs_virtual_services[web].address'
    else:
        hostvars['web1']['lvs_address'] = value
        where = 'lvs_address'
    with pytest.raises(_values.PlanError) as caught:
        expand([svc], hostvars=hostvars)
    assert where in str(caught.value)
    assert "is in brackets; give the IPv6 address without them" in str(caught.value)


def test_realserver_record_union_names_everything_old_and_new_and_equals_the_plan_when_nothing_changes():
    old = {'lo': ['10.0.0.1'], 'tunl0': [], 'ip6tnl0': [], 'kernel_modules': [], 'arp': True, 'tun': False,
           'nat_gateway': None, 'services': ['web']}
    new = {'lo': ['10.0.0.2'], 'tunl0': ['10.0.0.9'], 'ip6tnl0': [], 'kernel_modules': ['ipip'], 'arp': False, 'tun': True,
           'nat_gateway': '10.0.1.1', 'services': ['api']}
    union = _realserver_plan.record_union(old, new)
    assert union == {'lo': ['10.0.0.1', '10.0.0.2'], 'tunl0': ['10.0.0.9'], 'ip6tnl0': [], 'kernel_modules': ['ipip'],
                     'arp': True, 'tun': True, 'nat_gateway': '10.0.1.1', 'services': ['web', 'api']}
    assert _realserver_plan.record_union(dict(old, nat_gateway='10.0.1.254'), new)['nat_gateway'] == '10.0.1.254'
    assert _realserver_plan.record_union(new, new) == new
    assert _realserver_plan.record_union(None, new) == new


def test_served_by_finds_each_host_as_a_scan_of_the_members_would():
    groups = {'web': ['web%d' % i for i in range(30)], 'db': ['web%d' % i for i in range(10, 40, 3)]}
    hostvars = {'web%d' % i: {'ansible_host': '10.0.2.%d' % (i + 1)} for i in range(40)}
    estate = _estate.virtual_services([WEB, dict(WEB, name='db', address='10.0.1.100', realservers='db')],
                                      hostvars, groups)
    for host in hostvars:
        scanned = [(svc['name'], member) for svc in estate for member in svc['members'] if member['host'] == host]
        found = [(entry['name'], entry['member']) for entry in _estate.served_by(estate, host)]
        assert found == scanned
    # an estate expanded before the index existed (no member_index) is served the same way
    legacy = [{key: value for key, value in svc.items() if key != 'member_index'} for svc in estate]
    assert _estate.served_by(legacy, 'web13') == _estate.served_by(estate, 'web13')


def test_a_dual_stack_real_server_is_reached_on_its_ipv6_address_by_ipv6_services():
    services = [{'name': 'web6', 'address': 'fd40::50', 'port': 80, 'mode': 'dr', 'scheduler': 'rr', 'realservers': 'web'},
                {'name': 'web', 'address': '10.40.0.50', 'port': 80, 'mode': 'dr', 'scheduler': 'rr', 'realservers': 'web'}]
    hostvars = {'rs1': {'lvs_address': '10.40.0.11', 'lvs_address_ipv6': 'fd40::11'},
                'rs2': {'lvs_address': '10.40.0.12', 'lvs_address_ipv6': 'FD40:0::12'}}
    web6, web = _estate.virtual_services(services, hostvars, {'web': ['rs1', 'rs2']})
    assert [m['address'] for m in web6['members']] == ['fd40::11', 'fd40::12']
    assert [m['address'] for m in web['members']] == ['10.40.0.11', '10.40.0.12']
    with pytest.raises(Exception, match=re.escape('host rs1: lvs_address_ipv6 \'10.0.0.1\' is not an IPv6 address')):
        _estate.virtual_services(services, dict(hostvars, rs1={'lvs_address': '10.40.0.11', 'lvs_address_ipv6': '10.0.0.1'}),
                                 {'web': ['rs1', 'rs2']})
    with pytest.raises(Exception, match=re.escape('set lvs_address_ipv6 to its IPv6 address')):
        _estate.virtual_services(services, dict(hostvars, rs1={'lvs_address': '10.40.0.11'}), {'web': ['rs1', 'rs2']})
