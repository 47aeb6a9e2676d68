"""keepalived's VRRP side and virtual servers, worked out from one inventory and checked."""

import copy

import pytest

from ansible_collections.lvs.cluster.plugins.plugin_utils import _director_plan, _estate, _keepalived_virtual_servers, _keepalived_vrrp, _values

GROUPS = {'directors': ['d1', 'd2', 'd3'], 'web': ['rs1', 'rs2'], 'proxies': ['p1', 'p2']}
HOSTVARS = {
    'd1': {'lvs_address': '10.0.0.2'}, 'd2': {'lvs_address': '10.0.0.3'}, 'd3': {'ansible_host': '10.0.0.4'},
    'rs1': {'ansible_host': '10.0.0.11'}, 'rs2': {'ansible_host': '10.0.0.12', 'lvs_weight': 3},
    'p1': {'lvs_address': '10.0.1.2'}, 'p2': {'lvs_address': '10.0.1.3'},
}
ADDRESSES = {host: _estate.member_address(host, hvars) for host, hvars in HOSTVARS.items()}
WEB = {'name': 'web', 'address': '10.0.0.50', 'port': 80, 'owner': 'keepalived', 'realservers': 'web', 'scheduler': 'rr',
       'health_check': {'type': 'http', 'path': '/health', 'status': [200, 204], 'interval': 2, 'timeout': 1}}
DB = {'name': 'db', 'address': '10.0.0.51', 'port': 3306, 'owner': 'keepalived', 'realservers': 'web',
      'persistence_timeout': 300, 'persistence_netmask': 24}
INSTANCE = {'name': 'VI_1', 'virtual_router_id': 51, 'services': ['web', 'db']}


def expand(services, hostvars=None):
    return _estate.virtual_services(services, hostvars or HOSTVARS, GROUPS)


def instances(given, host='d1', services=(WEB, DB), scripts=None, defaults=None):
    return _keepalived_vrrp.vrrp_instances(given, host, ADDRESSES, GROUPS, expand(list(services)), scripts, defaults)


def test_priorities_state_and_unicast_peers_come_from_the_group():
    first, = instances([INSTANCE], 'd1')
    second, = instances([INSTANCE], 'd2')
    assert (first['priority'], first['state'], second['priority'], second['state']) == (150, 'MASTER', 140, 'BACKUP')
    assert first['unicast_src_ip'] == '10.0.0.2' and first['unicast_peers'] == ['10.0.0.3', '10.0.0.4']
    assert second['unicast_peers'] == ['10.0.0.2', '10.0.0.4']  # d3 has no lvs_address: its ansible_host
    assert first['vips'] == ['10.0.0.50 dev eth0', '10.0.0.51 dev eth0']
    assert (first['version'], first['advert_int'], first['interface']) == (2, 1, 'eth0')


def test_explicit_priorities_vips_labels_and_a_proxy_group_without_services():
    given = dict(INSTANCE, services=[], peers_group='proxies', priority={'p1': 100, 'p2': 200},
                 vips=[{'address': '10.0.1.50/24', 'dev': 'eth1', 'label': 'eth1:web'}, '10.0.1.51'])
    one, = instances([given], 'p1')
    assert (one['priority'], one['state'], one['unicast_peers']) == (100, 'BACKUP', ['10.0.1.3'])
    assert one['vips'] == ['10.0.1.50/24 dev eth1 label eth1:web', '10.0.1.51 dev eth0']


def test_nopreempt_starts_everyone_as_backup_and_version_3_takes_sub_second_adverts():
    one, = instances([dict(INSTANCE, nopreempt=True, version=3, advert_int=0.25)], 'd1')
    assert (one['state'], one['nopreempt'], one['advert_int'], one['version']) == ('BACKUP', True, 0.25, 3)


def test_tracks_notify_garp_and_authentication_without_the_secret():
    scripts = _keepalived_vrrp.vrrp_scripts([{'name': 'chk', 'script': '/usr/bin/test ! -e /down', 'weight': -20}])
    given = dict(INSTANCE, track_scripts=[{'name': 'chk', 'weight': -30}, 'chk'], track_interfaces=['eth1'],
                 notify_master='/usr/local/bin/notify master', garp_master_delay=1,
                 authentication={'type': 'PASS', 'password': 's3cret'})
    one, = instances([given], scripts=scripts)
    assert one['track_scripts'] == [['chk', -30], ['chk', None]] and one['track_interfaces'] == [['eth1', None]]
    assert one['notify_master'] == '"/usr/local/bin/notify master"' and one['garp_master_delay'] == 1
    assert one['authentication'] == {'type': 'PASS'}
    assert 's3cret' not in repr(one)
    assert scripts[0]['script'] == '"/usr/bin/test ! -e /down"'


def test_unicast_off_is_multicast():
    one, = instances([dict(INSTANCE, unicast=False)])
    assert one['unicast'] is False and 'unicast_peers' not in one


BAD_INSTANCES = [
    ({'name': 'VI_1'}, ['virtual_router_id is required']),
    (dict(INSTANCE, virtual_router_id=300), ['virtual_router_id is 300']),
    (dict(INSTANCE, advert_int=0.5), ['version 2 counts whole seconds']),
    (dict(INSTANCE, version=3, advert_int=0.005), ['version 3 takes 0.01 to 40.95']),
    (dict(INSTANCE, services=['nope']), ["service 'nope'", 'not in lvs_virtual_services']),
    (dict(INSTANCE, services=[]), ['has no VIP']),
    (dict(INSTANCE, vips=['fd00::1']), ['mixes IPv4 and IPv6']),
    (dict(INSTANCE, services=[], vips=['fd00::1']), ['IPv6 VIPs need VRRP version 3']),
    (dict(INSTANCE, vips=[{'address': '10.0.0.60', 'label': 'web'}]), ['.label must be the device name']),
    (dict(INSTANCE, vips=['10.0.0.999']), ['not an IP address']),
    (dict(INSTANCE, colour='red'), ['unknown key(s) colour']),
    (dict(INSTANCE, state='PRIMARY'), ["state is 'PRIMARY'"]),
    (dict(INSTANCE, nopreempt=True, state='MASTER'), ['nopreempt works only']),
    (dict(INSTANCE, nopreempt=True, preempt_delay=5), ['preempt_delay has no effect with nopreempt']),
    (dict(INSTANCE, nopreempt=True, track_interfaces=[{'name': 'eth1', 'weight': -60}]),
     ['with nopreempt, tracking eth1 by a weight never moves the VIPs', 'weight 0']),
    (dict(INSTANCE, track_scripts=['missing']), ["vrrp script 'missing'"]),
    (dict(INSTANCE, track_interfaces=['eth0']), ["the instance's own interface"]),
    (dict(INSTANCE, authentication={'type': 'PASS'}), ['authentication.password is required', 'no default']),
    (dict(INSTANCE, authentication={'password': 'much-too-long-secret'}), ['1 to 8 printable']),
    (dict(INSTANCE, version=3, authentication={'password': 'abc'}), ['version 3 has no authentication']),
    (dict(INSTANCE, peers_group='nobody'), ["not in the inventory group 'nobody'"]),
    (dict(INSTANCE, peers_group='proxies'), ['not in the inventory group']),
    (dict(INSTANCE, unicast_peers=['10.0.0.2']), ['its own unicast peer']),
    (dict(INSTANCE, notify='two\nlines'), ['one-line command']),
]


@pytest.mark.parametrize('given, words', BAD_INSTANCES)
def test_bad_instances_are_refused_with_the_variable_and_the_reason(given, words):
    with pytest.raises(_values.PlanError) as caught:
        instances([given])
    for word in words:
        assert word in str(caught.value)
    assert 'much-too-long-secret' not in str(caught.value)


def test_instance_names_and_router_ids_are_unique_per_interface():
    with pytest.raises(_values.PlanError, match='used twice'):
        instances([INSTANCE, INSTANCE])
    with pytest.raises(_values.PlanError, match='same virtual_router_id 51 on eth0'):
        instances([INSTANCE, dict(INSTANCE, name='VI_2')])
    assert len(instances([INSTANCE, dict(INSTANCE, name='VI_2', interface='eth1')])) == 2


def test_sync_groups_scripts_and_the_sync_daemon():
    both = instances([INSTANCE, dict(INSTANCE, name='VI_2', virtual_router_id=52, services=['db'])])
    group, = _keepalived_vrrp.sync_groups([{'name': 'G', 'instances': ['VI_1', 'VI_2'], 'notify': '/bin/echo x'}], both)
    assert group['instances'] == ['VI_1', 'VI_2'] and group['notify'] == '"/bin/echo x"'
    with pytest.raises(_values.PlanError, match='at least two instances'):
        _keepalived_vrrp.sync_groups([{'name': 'G', 'instances': ['VI_1']}], both)
    with pytest.raises(_values.PlanError, match="names 'VI_9'"):
        _keepalived_vrrp.sync_groups([{'name': 'G', 'instances': ['VI_1', 'VI_9']}], both)
    assert _keepalived_vrrp.sync_daemon({}, both) is None
    assert _keepalived_vrrp.sync_daemon({'interface': 'eth0', 'instance': 'VI_1', 'id': 7}, both) == 'eth0 inst VI_1 id 7'
    with pytest.raises(_values.PlanError, match='interface is required'):
        _keepalived_vrrp.sync_daemon({'instance': 'VI_1'}, both)
    with pytest.raises(_values.PlanError, match='used twice'):
        _keepalived_vrrp.vrrp_scripts([{'name': 'a', 'script': '/bin/true'}, {'name': 'a', 'script': '/bin/true'}])


def test_plan_refuses_owned_services_without_any_instance():
    with pytest.raises(_values.PlanError, match='nothing would carry their VIPs'):
        _keepalived_vrrp.plan({'instances': []}, 'd1', ADDRESSES, GROUPS, expand([WEB]))
    plan = _keepalived_vrrp.plan({'instances': [INSTANCE]}, 'd1', ADDRESSES, GROUPS, expand([WEB, DB]))
    assert plan['services'] == ['web', 'db'] and not plan['has_secret'] and plan['sync_daemon'] is None


def test_virtual_servers_in_keepalived_words():
    hostvars = copy.deepcopy(HOSTVARS)
    hostvars['rs1']['lvs_overrides'] = {'db': {'state': 'drained'}}
    expanded = expand([WEB, DB, dict(WEB, name='mine', port=81, owner='director')], hostvars)
    web_vs, db_vs = _keepalived_virtual_servers.keepalived_virtual_servers(expanded)['virtual_servers']
    assert web_vs['endpoint'] == '10.0.0.50 80'
    assert web_vs['options'] == [['delay_loop', 2], ['lvs_sched', 'rr'], ['lvs_method', 'DR'], ['protocol', 'TCP']]
    rs1, rs2 = web_vs['real_servers']
    assert (rs1['endpoint'], rs1['options'], rs2['options']) == ('10.0.0.11 80', [['weight', 1]], [['weight', 3]])
    assert rs1['checker'] == {'type': 'HTTP_GET', 'options': [['connect_timeout', 1], ['retry', 1], ['delay_before_retry', 1]],
                              'urls': [[['path', '/health'], ['status_code', '200 204']]]}
    assert ['persistence_timeout', 300] in db_vs['options'] and ['persistence_granularity', '255.255.255.0'] in db_vs['options']
    assert db_vs['real_servers'][0]['options'] == [['weight', 0]]  # drained
    assert db_vs['real_servers'][0]['checker']['type'] == 'TCP_CHECK'  # the default check of a TCP service


def test_checks_sorry_server_quorum_and_flags():
    svc = dict(DB, health_check={'type': 'script', 'script': '/usr/local/bin/check {address} {port} {host}', 'user': 'nobody'},
               keepalived={'sorry_server': {'address': '10.0.0.99'}, 'inhibit_on_failure': True, 'quorum': 2,
                           'hysteresis': 1, 'extra': ['alpha']})
    vs, = _keepalived_virtual_servers.keepalived_virtual_servers(expand([svc]))['virtual_servers']
    assert ['sorry_server', '10.0.0.99 3306'] in vs['options'] and ['inhibit_on_failure', None] in vs['options']
    assert ['quorum', 2] in vs['options'] and ['alpha', None] in vs['options']
    assert vs['real_servers'][0]['checker']['options'][:3] == [
        ['misc_path', '"/usr/local/bin/check 10.0.0.11 3306 rs1"'], ['misc_timeout', 3], ['user', 'nobody']]
    https = dict(WEB, health_check={'type': 'https', 'digest': '9b3a0c85a887a256d6939da88aabd8cd', 'host': 'www.example.com',
                                    'port': 8443})
    vs, = _keepalived_virtual_servers.keepalived_virtual_servers(expand([https]))['virtual_servers']
    checker = vs['real_servers'][0]['checker']
    assert checker['type'] == 'SSL_GET' and ['connect_port', 8443] in checker['options']
    assert checker['urls'] == [[['path', '/'], ['digest', '9b3a0c85a887a256d6939da88aabd8cd'], ['virtualhost', 'www.example.com']]]


def test_fwmark_services_and_virtual_server_groups():
    mark = {'name': 'mark', 'fwmark': 7, 'owner': 'keepalived', 'realservers': 'web', 'health_check': {'type': 'tcp', 'port': 80}}
    vs, = _keepalived_virtual_servers.keepalived_virtual_servers(expand([mark]))['virtual_servers']
    assert vs['endpoint'] == 'fwmark 7' and not any(option[0] == 'protocol' for option in vs['options'])
    assert vs['real_servers'][0]['endpoint'] == '10.0.0.11'  # keepalived refuses a port on a fwmark real server
    assert ['connect_port', 80] in vs['real_servers'][0]['checker']['options']
    with pytest.raises(_values.PlanError, match='health_check.port is required'):
        _keepalived_virtual_servers.keepalived_virtual_servers(expand([dict(mark, health_check={'type': 'tcp'})]))
    grouped = [dict(WEB, keepalived={'group': 'www'}), dict(WEB, name='web2', address='10.0.0.52', keepalived={'group': 'www'})]
    plan = _keepalived_virtual_servers.keepalived_virtual_servers(expand(grouped))
    assert plan['groups'] == [{'name': 'www', 'entries': ['10.0.0.50 80', '10.0.0.52 80']}]
    vs, = plan['virtual_servers']
    assert vs['endpoint'] == 'group www' and vs['services'] == ['web', 'web2']
    with pytest.raises(_values.PlanError, match='differ in scheduler'):
        _keepalived_virtual_servers.keepalived_virtual_servers(expand([grouped[0], dict(grouped[1], scheduler='wrr')]))


def test_keepalived_refusals_are_caught_before_keepalived_sees_them():
    hostvars = copy.deepcopy(HOSTVARS)
    hostvars['rs1']['lvs_overrides'] = {'web': {'state': 'drained'}}
    hostvars['rs2']['lvs_overrides'] = {'web': {'state': 'absent'}}
    with pytest.raises(_values.PlanError, match='add up to 0, less than its quorum 1'):
        _keepalived_virtual_servers.keepalived_virtual_servers(expand([WEB], hostvars))
    hostvars['rs1']['lvs_overrides'] = {'web': {'state': 'absent'}}
    with pytest.raises(_values.PlanError, match='has no real server'):
        _keepalived_virtual_servers.keepalived_virtual_servers(expand([WEB], hostvars))
    # an absent service is simply not rendered
    assert _keepalived_virtual_servers.keepalived_virtual_servers(expand([dict(WEB, state='absent')], hostvars))['virtual_servers'] == []


BAD_SERVICES = [
    (dict(WEB, health_check={'type': 'icmp'}), ['health_check.type is', 'tcp, http, https, mysql, udp, ping, dns, script, none']),
    (dict(WEB, health_check={'type': 'dns', 'dns_type': 'SRV'}), ["health_check.dns_type is 'SRV'", 'A, AAAA, CNAME, MX, NS, SOA, TXT']),
    (dict(WEB, health_check={'type': 'dns', 'dns_name': 'two words'}), ['health_check.dns_name must be a DNS name']),
    (dict(WEB, health_check={'type': 'dns', 'dns_name': 'a..b'}), ['health_check.dns_name must be a DNS name']),
    (dict(WEB, health_check={'type': 'tcp', 'dns_name': 'a.b'}), ['health_check.dns_name and dns_type are only for type dns']),
    (dict(WEB, health_check={'type': 'udp'}), ['health_check.type is udp but the service is tcp']),
    (dict(WEB, health_check={'type': 'ping', 'port': 80}), ['health_check.port: a ping check has no port']),
    (dict(WEB, health_check={'type': 'tcp', 'path': '/'}), ['health_check.path is only for type http']),
    (dict(WEB, health_check={'type': 'http', 'path': 'health'}), ['must start with "/"']),
    (dict(WEB, health_check={'type': 'http', 'digest': 'xyz'}), ['digest must be the MD5']),
    (dict(WEB, health_check={'type': 'http', 'status': 999}), ['health_check.status is 999']),
    (dict(WEB, health_check={'type': 'script'}), ['health_check.script is required']),
    (dict(WEB, health_check={'interval': 0}), ['health_check.interval is 0']),
    (dict(WEB, health_check={'colour': 1}), ['health_check has unknown key(s) colour']),
    (dict(WEB, protocol='udp', health_check={'type': 'tcp'}), ['but the service is udp']),
    (dict(WEB, keepalived={'quorum': 0}), ['keepalived.quorum is 0']),
    (dict(WEB, keepalived={'sorry_server': '10.0.0.99'}), ['sorry_server must be a mapping']),
    (dict(WEB, keepalived={'sorry_server': {'address': 'fd00::1'}}), ['not of the family']),
    (dict(WEB, keepalived={'inhibit_on_failure': 'yes'}), ['inhibit_on_failure must be true or false']),
    (dict(WEB, keepalived={'group': 'Bad Name'}), ['keepalived.group must be a name']),
    (dict(WEB, keepalived={'colour': 1}), ['keepalived has unknown key(s) colour']),
    (dict(WEB, mode='snat'), ['keepalived cannot own it']),
]


@pytest.mark.parametrize('service, words', BAD_SERVICES)
def test_bad_health_checks_and_keepalived_settings_are_refused(service, words):
    with pytest.raises(_values.PlanError) as caught:
        expand([service])
    for word in words:
        assert word in str(caught.value)


def test_default_health_checks():
    web, udp = expand([dict(WEB, health_check=None), dict(WEB, name='dns', protocol='udp', port=53, health_check=None)])
    assert web['health_check'] == {'type': 'tcp', 'interval': 6, 'timeout': 3, 'retries': 1, 'retry_delay': 1}
    assert udp['health_check']['type'] == 'none'
    vs, = _keepalived_virtual_servers.keepalived_virtual_servers(expand([dict(WEB, protocol='udp', port=53, health_check=None)]))['virtual_servers']
    assert vs['real_servers'][0]['checker'] is None


def test_director_plan_loads_keepalived_schedulers_and_never_removes_keepalived_services():
    services = expand([dict(WEB, scheduler='sh'), dict(DB, owner='director')])
    plan = _director_plan.director_plan(services)
    assert 'ip_vs_sh' in plan['kernel_modules'] and plan['services'] == ['db'] and plan['vips'] == ['10.0.0.51']
    assert plan['foreign'] == [{'address': '10.0.0.50', 'port': 80, 'protocol': 'tcp'}]
    # web was the director's before and is keepalived's now: the director must not remove it
    previous = [{'name': 'web', 'address': '10.0.0.50', 'port': 80, 'protocol': 'tcp'}]
    assert _director_plan.removed_services(previous, plan) == []


def test_nopreempt_refuses_a_track_script_weight_and_takes_a_faulting_one():
    scripts = [{'name': 'up', 'script': '/bin/true', 'weight': -60}, {'name': 'alive', 'script': '/bin/true'}]
    with pytest.raises(_values.PlanError, match='tracking up by a weight never moves'):
        instances([dict(INSTANCE, nopreempt=True, track_scripts=['up'])], scripts=scripts)
    with pytest.raises(_values.PlanError, match='tracking alive by a weight'):
        instances([dict(INSTANCE, nopreempt=True, track_scripts=[{'name': 'alive', 'weight': -10}])], scripts=scripts)
    one, = instances([dict(INSTANCE, nopreempt=True, track_scripts=[{'name': 'up', 'weight': 0}, 'alive'])],
                     scripts=scripts)
    assert one['track_scripts'] == [['up', 0], ['alive', None]]


def test_unicast_without_a_peer_names_its_cause():
    with pytest.raises(_values.PlanError) as caught:
        instances([dict(INSTANCE, unicast_peers=[])])
    assert str(caught.value).startswith('keepalived_vrrp_instances[VI_1].unicast_peers is empty: unicast needs at least one peer')
    alone = dict(GROUPS, solo=['d1'])
    with pytest.raises(_values.PlanError) as caught:
        _keepalived_vrrp.vrrp_instances([dict(INSTANCE, peers_group='solo')], 'd1', ADDRESSES, alone, expand([WEB, DB]))
    assert str(caught.value).startswith('keepalived_vrrp_instances[VI_1]: unicast with no peer (group solo has no other member')


def _kernel(service, servers):
    """One service as lvs.cluster.ipvs_info returns it."""
    return dict(service, servers=[{'address': address, 'port': port, 'weight': 1} for address, port in servers])


def test_a_leaving_real_server_is_kept_at_weight_0_and_drained_first():
    hostvars = copy.deepcopy(HOSTVARS)
    hostvars['rs2']['lvs_overrides'] = {'web': {'state': 'absent'}}
    expanded = expand([dict(WEB, drain_timeout=30), DB], hostvars)
    plan = _keepalived_vrrp.plan({'instances': [INSTANCE]}, 'd1', ADDRESSES, GROUPS, expanded)
    assert plan['draining'] == ['web']
    web_kernel = _kernel({'address': '10.0.0.50', 'port': 80, 'protocol': 'tcp'}, [('10.0.0.11', 80), ('10.0.0.12', 80)])
    # db has no drain_timeout: a server leaving it (the kernel's 10.0.0.13) is left to keepalived's reload
    db_kernel = _kernel({'address': '10.0.0.51', 'port': 3306, 'protocol': 'tcp'}, [('10.0.0.11', 3306), ('10.0.0.13', 3306)])
    drained = _keepalived_virtual_servers.leaving_drained(plan['virtual_servers'], expanded, [web_kernel, db_kernel])
    assert drained['drains'] == [{'name': 'web', 'address': '10.0.0.50', 'port': 80, 'protocol': 'tcp',
                                  'servers': [{'address': '10.0.0.12', 'port': 80}], 'drain_timeout': 30}]
    web_vs, db_vs = drained['virtual_servers']
    assert [rs['endpoint'] for rs in plan['virtual_servers'][0]['real_servers']] == ['10.0.0.11 80']
    leaving = web_vs['real_servers'][-1]
    assert [rs['endpoint'] for rs in web_vs['real_servers']] == ['10.0.0.11 80', '10.0.0.12 80']
    assert leaving['leaving'] and leaving['options'] == [['weight', 0]] and leaving['checker'] == web_vs['real_servers'][0]['checker']
    assert db_vs == plan['virtual_servers'][1]
    # nothing leaves: the plan's own virtual servers, no drain
    still = _kernel({'address': '10.0.0.50', 'port': 80, 'protocol': 'tcp'}, [('10.0.0.11', 80)])
    assert _keepalived_virtual_servers.leaving_drained(plan['virtual_servers'], expanded, [still]) == {
        'virtual_servers': plan['virtual_servers'], 'drains': []}
    assert _keepalived_virtual_servers.leaving_drained(plan['virtual_servers'], expanded, []) == {
        'virtual_servers': plan['virtual_servers'], 'drains': []}


def test_a_fwmark_service_drains_by_address_as_keepalived_programs_it():
    mark = {'name': 'mark', 'fwmark': 7, 'owner': 'keepalived', 'realservers': 'web', 'drain_timeout': 5,
            'health_check': {'type': 'tcp', 'port': 80}}
    hostvars = copy.deepcopy(HOSTVARS)
    hostvars['rs1']['lvs_overrides'] = {'mark': {'state': 'absent'}}
    expanded = expand([mark], hostvars)
    virtual_servers = _keepalived_virtual_servers.keepalived_virtual_servers(expanded)['virtual_servers']
    kernel = _kernel({'fwmark': 7, 'family': 'ipv4'}, [('10.0.0.11', 0), ('10.0.0.12', 0)])
    drained = _keepalived_virtual_servers.leaving_drained(virtual_servers, expanded, [kernel])
    assert drained['drains'] == [{'name': 'mark', 'fwmark': 7, 'family': 'ipv4', 'servers': [{'address': '10.0.0.11', 'port': 0}],
                                  'drain_timeout': 5}]
    vs, = drained['virtual_servers']
    assert [rs['endpoint'] for rs in vs['real_servers']] == ['10.0.0.12', '10.0.0.11']
    assert ['connect_port', 80] in vs['real_servers'][-1]['checker']['options']


def test_track_files_and_processes_default_to_fault_and_are_named_by_instances():
    files = _keepalived_vrrp.vrrp_track_files([{'name': 'haproxy_down', 'file': '/run/lvs-cluster/haproxy.down'},
                                               {'name': 'maint', 'file': '/etc/maint', 'weight': -20, 'init_value': 0}])
    assert files == [{'name': 'haproxy_down', 'file': '/run/lvs-cluster/haproxy.down', 'weight': 0},
                     {'name': 'maint', 'file': '/etc/maint', 'weight': -20, 'init_value': 0}]
    processes = _keepalived_vrrp.vrrp_track_processes([{'name': 'haproxy', 'process': 'haproxy  -Ws', 'delay': 0.5,
                                                        'param_match': 'initial'}])
    assert processes == [{'name': 'haproxy', 'process': 'haproxy -Ws', 'weight': 0, 'quorum': 1, 'full_command': False,
                          'param_match': 'initial', 'delay': 0.5}]
    one, = _keepalived_vrrp.vrrp_instances(
        [dict(INSTANCE, nopreempt=True, track_files=['haproxy_down'], track_processes=[{'name': 'haproxy', 'weight': 0}])],
        'd1', ADDRESSES, GROUPS, expand([WEB, DB]), None, None, files, processes)
    assert one['track_files'] == [['haproxy_down', None]] and one['track_processes'] == [['haproxy', 0]]


@pytest.mark.parametrize('given, message', [
    ({'track_files': ['missing']}, "track file 'missing', which keepalived_vrrp_track_files does not define"),
    ({'track_processes': ['missing']}, "track process 'missing', which keepalived_vrrp_track_processes does not"),
    # with nopreempt only a FAULT moves the VIPs: a track by weight would never do it
    ({'nopreempt': True, 'track_files': ['maint']}, 'tracking maint by a weight never moves'),
    ({'nopreempt': True, 'track_files': [{'name': 'haproxy_down', 'weight': 5}]}, 'tracking haproxy_down by a weight'),
])
def test_instance_tracks_are_checked(given, message):
    files = _keepalived_vrrp.vrrp_track_files([{'name': 'haproxy_down', 'file': '/run/x'},
                                               {'name': 'maint', 'file': '/etc/maint', 'weight': -20}])
    with pytest.raises(_values.PlanError, match=message):
        _keepalived_vrrp.vrrp_instances([dict(INSTANCE, **given)], 'd1', ADDRESSES, GROUPS, expand([WEB, DB]),
                                        None, None, files, [])


@pytest.mark.parametrize('function, given, message', [
    ('vrrp_track_files', [{'name': 'a', 'file': 'relative'}], r"keepalived_vrrp_track_files\[a\].file must be an absolute"),
    ('vrrp_track_files', [{'name': 'a', 'file': '/x'}, {'name': 'a', 'file': '/y'}], "the name 'a' is used twice"),
    ('vrrp_track_files', [{'name': 'a'}], r'\[a\].file is required'),
    ('vrrp_track_files', [{'name': 'a', 'file': '/x', 'weight': 300}], r'\[a\].weight'),
    ('vrrp_track_processes', [{'name': 'p', 'process': 'a "b"'}], r'\[p\].process must be a process name'),
    ('vrrp_track_processes', [{'name': 'p', 'process': 'nginx', 'quorum': 2, 'quorum_max': 1}], r'\[p\].quorum_max'),
    ('vrrp_track_processes', [{'name': 'p', 'process': 'nginx', 'delay': 'soon'}], r'\[p\].delay must be a number'),
    ('vrrp_track_processes', [{'name': 'p', 'process': 'nginx', 'param_match': 'all'}], r'\[p\].param_match'),
    ('vrrp_track_processes', [{'name': 'p', 'process': 'nginx', 'pid': 1}], r'unknown key'),
])
def test_track_definitions_are_checked(function, given, message):
    with pytest.raises(_values.PlanError, match=message):
        getattr(_keepalived_vrrp, function)(given)


def test_bfd_instances_are_checked_and_followed_by_instances():
    bfds = _keepalived_vrrp.bfd_instances([{'name': 'router', 'neighbor_ip': '10.0.0.1', 'min_rx': 300, 'min_tx': 300,
                                            'multiplier': 3, 'ttl': 255},
                                           {'name': 'router6', 'neighbor_ip': 'fd00::1', 'min_rx': 100, 'min_tx': 100,
                                            'hoplimit': 64, 'passive': True, 'weight': -30}])
    assert bfds == [{'name': 'router', 'neighbor_ip': '10.0.0.1', 'min_rx': 300, 'min_tx': 300, 'multiplier': 3,
                     'ttl': 255, 'passive': False, 'weight': 0},
                    {'name': 'router6', 'neighbor_ip': 'fd00::1', 'min_rx': 100, 'min_tx': 100, 'hoplimit': 64,
                     'passive': True, 'weight': -30}]
    one, = _keepalived_vrrp.vrrp_instances([dict(INSTANCE, track_bfds=['router', {'name': 'router6', 'weight': -60}])],
                                           'd1', ADDRESSES, GROUPS, expand([WEB, DB]), None, None, [], [], bfds)
    assert one['track_bfds'] == [['router', None], ['router6', -60]]
    with pytest.raises(_values.PlanError, match="BFD instance 'gone', which keepalived_bfd_instances does not define"):
        _keepalived_vrrp.vrrp_instances([dict(INSTANCE, track_bfds=['gone'])], 'd1', ADDRESSES, GROUPS,
                                        expand([WEB, DB]), None, None, [], [], bfds)
    # with nopreempt only a FAULT moves the VIPs: router6's weight never would
    with pytest.raises(_values.PlanError, match='tracking router6 by a weight never moves'):
        _keepalived_vrrp.vrrp_instances([dict(INSTANCE, nopreempt=True, track_bfds=['router6'])], 'd1', ADDRESSES,
                                        GROUPS, expand([WEB, DB]), None, None, [], [], bfds)


def test_release_on_stop_tracks_its_file_in_every_instance_and_lists_the_vips_to_wait_for():
    v6 = dict(INSTANCE, name='VI_6', virtual_router_id=52, services=[], version=3, unicast=False, vips=['fd00::50/64'])
    settings = {'instances': [INSTANCE, v6], 'defaults': {'peers_group': 'directors'}, 'stop_file': '/run/stopping'}
    plan = _keepalived_vrrp.plan(settings, 'd1', ADDRESSES, GROUPS, expand([WEB, DB]))
    assert plan['release_on_stop'] == {'file': '/run/stopping', 'vips': ['10.0.0.50', '10.0.0.51', 'fd00::50']}
    assert {'name': 'lvs_cluster_stopping', 'file': '/run/stopping', 'weight': 0, 'init_value': 0} in plan['track_files']
    assert all(['lvs_cluster_stopping', 0] in one['track_files'] for one in plan['instances'])
    off = _keepalived_vrrp.plan(dict(settings, stop_file=None), 'd1', ADDRESSES, GROUPS, expand([WEB, DB]))
    assert off['release_on_stop'] is None and all(one['track_files'] == [] for one in off['instances'])
    with pytest.raises(_values.PlanError, match='keepalived_stop_file must be an absolute path'):
        _keepalived_vrrp.plan(dict(settings, stop_file='run/x'), 'd1', ADDRESSES, GROUPS, expand([WEB, DB]))
    with pytest.raises(_values.PlanError, match="the name lvs_cluster_stopping is the role's own"):
        _keepalived_vrrp.plan(dict(settings, track_files=[{'name': 'lvs_cluster_stopping', 'file': '/x'}]), 'd1',
                              ADDRESSES, GROUPS, expand([WEB, DB]))


@pytest.mark.parametrize('given, message', [
    ({'name': 'r', 'neighbor_ip': '10.0.0.1', 'min_rx': 300}, r'keepalived_bfd_instances\[r\].min_tx is required'),
    ({'name': 'r', 'neighbor_ip': 'router', 'min_rx': 300, 'min_tx': 300}, r"\[r\].neighbor_ip: 'router' is not an IP"),
    ({'name': 'r', 'neighbor_ip': '10.0.0.1', 'source_ip': 'fd00::2', 'min_rx': 1, 'min_tx': 1}, 'of one family'),
    ({'name': 'r', 'neighbor_ip': 'fd00::1', 'min_rx': 1, 'min_tx': 1, 'ttl': 5}, 'an IPv6 one takes hoplimit'),
    ({'name': 'r', 'neighbor_ip': '10.0.0.1', 'min_rx': 1, 'min_tx': 1, 'hoplimit': 5}, 'an IPv4 one takes ttl'),
    ({'name': 'r', 'neighbor_ip': '10.0.0.1', 'min_rx': 0, 'min_tx': 1}, r'\[r\].min_rx'),
    ({'name': 'r', 'neighbor_ip': '10.0.0.1', 'min_rx': 1, 'min_tx': 1, 'weight': 254}, r'\[r\].weight'),
    ({'name': 'r', 'neighbor_ip': '10.0.0.1', 'min_rx': 1, 'min_tx': 1, 'interval': 1}, 'unknown key'),
])
def test_bfd_instance_definitions_are_checked(given, message):
    with pytest.raises(_values.PlanError, match=message):
        _keepalived_vrrp.bfd_instances([given])


def test_udp_and_ping_checks_are_keepalived_checkers():
    dns = dict(WEB, name='dns', port=53, protocol='udp', health_check={'type': 'udp', 'timeout': 2, 'interval': 3})
    ping = dict(WEB, name='ping', address='10.0.0.52', health_check={'type': 'ping', 'timeout': 1})
    result = _keepalived_virtual_servers.keepalived_virtual_servers(expand([dns, ping]))
    checkers = {vs['name'] if 'name' in vs else vs['address']: vs['real_servers'][0]['checker']
                for vs in result['virtual_servers']}
    udp = [c for c in checkers.values() if c['type'] == 'UDP_CHECK'][0]
    icmp = [c for c in checkers.values() if c['type'] == 'PING_CHECK'][0]
    assert ['connect_timeout', 2] in udp['options'] and not any(o[0] == 'connect_port' for o in udp['options'])
    assert ['connect_timeout', 1] in icmp['options'] and not any(o[0] == 'connect_port' for o in icmp['options'])


def test_a_dns_check_is_keepalived_dns_check_with_its_query():
    dns = dict(WEB, name='dns', port=53, protocol='udp', health_check={'type': 'dns', 'dns_name': 'check.lab', 'dns_type': 'a'})
    default = dict(WEB, name='dns_tcp', port=53, health_check={'type': 'dns', 'port': 5353})
    result = _keepalived_virtual_servers.keepalived_virtual_servers(expand([dns, default]))
    first, second = [vs['real_servers'][0]['checker'] for vs in result['virtual_servers']]
    assert first['type'] == 'DNS_CHECK' and second['type'] == 'DNS_CHECK'
    assert first['options'][-2:] == [['type', 'A'], ['name', 'check.lab']]
    assert not any(o[0] == 'connect_port' for o in first['options'])
    # keepalived's own default query (SOA of the root), on another port
    assert second['options'][-2:] == [['type', 'SOA'], ['name', '.']] and ['connect_port', 5353] in second['options']


def test_proxies_refuse_keepalived_only_checks():
    # a proxy's services are tcp: a udp check is refused for that first
    for kind, message in (('ping', "type ping is keepalived's"), ('script', "type script is keepalived's"),
                          ('dns', "type dns is keepalived's"),
                          ('udp', 'type is udp but the service is tcp')):
        svc = {'name': 'shop', 'mode': 'proxy', 'owner': 'haproxy', 'proxies': 'proxies', 'address': '10.0.1.50',
               'port': 80, 'realservers': 'web', 'health_check': {'type': kind}}
        if kind == 'script':
            svc['health_check']['script'] = '/bin/true'
        with pytest.raises(_values.PlanError, match=message):
            expand([svc])


def test_script_files_are_file_names_with_content_or_src():
    assert _keepalived_vrrp.script_files([{'name': 'notify.sh', 'content': '#!/bin/sh\n'},
                                          {'name': 'check-db', 'src': 'files/check-db'}]) == ['notify.sh', 'check-db']
    assert _keepalived_vrrp.script_files(None) == []
    for given, message in (([{'name': '../x', 'content': ''}], r'\[\.\./x\]\.name must be a file name'),
                           ([{'name': 'a', 'content': 'x', 'src': 'y'}], r'\[a\] needs content .* one of them'),
                           ([{'name': 'a'}], r'\[a\] needs content'),
                           ([{'name': 'a', 'content': ''}, {'name': 'a', 'content': ''}], "name 'a' is used twice"),
                           ([{'name': 'a', 'content': '', 'mode': '0777'}], 'unknown key')):
        with pytest.raises(_values.PlanError, match=message):
            _keepalived_vrrp.script_files(given)


def test_an_ipv6_instance_unicasts_in_its_own_family_or_multicasts():
    v6 = dict(INSTANCE, services=[], vips=['fd00::50'], version=3)
    with pytest.raises(Exception, match=r'VI_1.* carries ipv6 VIPs but unicasts to or from 10\.0\.0\.3'):
        instances([v6])
    one, = instances([dict(v6, unicast=False)])
    assert (one['family'], one['unicast'], one['vips']) == ('ipv6', False, ['fd00::50 dev eth0'])
    two, = instances([dict(v6, unicast_peers=['fd00::3'], unicast_src_ip='fd00::2')])
    assert (two['unicast_src_ip'], two['unicast_peers']) == ('fd00::2', ['fd00::3'])
