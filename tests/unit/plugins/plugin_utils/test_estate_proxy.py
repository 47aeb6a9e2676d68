"""The estate model for proxy services (mode proxy): what the haproxy and nginx_upstream roles read."""

import copy

import pytest

from ansible_collections.lvs.cluster.plugins.plugin_utils import _director_plan, _estate, _realserver_plan, _values

GROUPS = {'web': ['web1', 'web2'], 'api': ['api1'], 'db': ['db1', 'db2'], 'proxies': ['lb1', 'lb2'],
          'directors': ['dir1']}
HOSTVARS = {
    'web1': {'ansible_host': '10.0.0.11'},
    'web2': {'ansible_host': '10.0.0.12', 'lvs_weight': 3, 'lvs_overrides': {'shop': {'backup': True, 'maxconn': 50}}},
    'api1': {'ansible_host': '10.0.0.21', 'lvs_port': 8080},
    'db1': {'ansible_host': '10.0.1.11'},
    'db2': {'ansible_host': '10.0.1.12', 'lvs_overrides': {'db': {'state': 'drained'}}},
}
SHOP = {'name': 'shop', 'address': '10.0.0.100', 'port': 80, 'mode': 'proxy', 'owner': 'haproxy',
        'proxies': 'proxies', 'realservers': 'web', 'health_check': {'type': 'http', 'path': '/health'},
        'routes': [{'path': '/api', 'realservers': 'api', 'balance': 'leastconn'},
                   {'name': 'images', 'path_regex': r'\.(png|jpg)$', 'host': 'shop.example', 'realservers': 'web'}]}
DB = {'name': 'db', 'address': '10.0.1.100', 'port': 3306, 'mode': 'proxy', 'owner': 'haproxy', 'proxy_mode': 'tcp',
      'proxies': 'proxies', 'realservers': 'db', 'balance': 'source',
      'health_check': {'type': 'mysql', 'user': 'haproxy_check'}}
LVS = {'name': 'lvs', 'address': '10.0.2.100', 'port': 80, 'realservers': 'web', 'scheduler': 'rr'}


def expand(services, hostvars=None, groups=None):
    return _estate.virtual_services(services, hostvars or HOSTVARS, groups or GROUPS)


def test_a_proxy_service_gets_its_pools_members_and_routes():
    shop, = _estate.proxy_services(expand([SHOP]), 'lb1', 'haproxy')
    assert (shop['proxy_mode'], shop['balance'], shop['settings']) == ('http', 'roundrobin', {})
    assert [pool['name'] for pool in shop['pools']] == ['shop', 'shop_api', 'images']
    default, api, images = shop['pools']
    assert [(m['host'], m['port'], m['weight'], m['backup'], m.get('maxconn')) for m in default['members']] == [
        ('web1', 80, 1, False, None), ('web2', 80, 3, True, 50)]
    # a route's pool has its own balance and inherits the service's health check
    assert api['balance'] == 'leastconn' and images['balance'] == 'roundrobin'
    assert api['health_check']['path'] == '/health'
    # lvs_port gives a proxy's real server its own port
    assert [(m['host'], m['address'], m['port']) for m in api['members']] == [('api1', '10.0.0.21', 8080)]
    assert shop['routes'] == [{'name': 'shop_api', 'path': '/api'},
                              {'name': 'images', 'path_regex': r'\.(png|jpg)$', 'host': 'shop.example'}]


def test_a_proxy_host_gets_only_its_own_proxys_services():
    estate = expand([SHOP, DB, dict(SHOP, name='blog', owner='nginx', address='10.0.0.101', routes=[],
                                    health_check={'type': 'tcp'})])
    assert [svc['name'] for svc in _estate.proxy_services(estate, 'lb2', 'haproxy')] == ['shop', 'db']
    assert [svc['name'] for svc in _estate.proxy_services(estate, 'lb2', 'nginx')] == ['blog']
    assert _estate.proxy_services(estate, 'web1', 'haproxy') == []


def test_drained_members_and_mysql_checks_reach_the_proxy():
    db, = _estate.proxy_services(expand([DB]), 'lb1', 'haproxy')
    assert [m['state'] for m in db['pools'][0]['members']] == ['present', 'drained']
    assert db['health_check']['type'] == 'mysql' and db['health_check']['user'] == 'haproxy_check'


def test_directors_and_real_servers_leave_proxy_services_alone():
    estate = expand([SHOP, LVS])
    plan = _director_plan.director_plan([svc for svc in estate if svc['owner'] == 'director'])
    assert plan['services'] == ['lvs'] and plan['vips'] == ['10.0.2.100']
    # nothing of the proxy service runs in a director's kernel, even listed with the rest
    assert _director_plan.director_plan(estate)['kernel_modules'] == ['ip_vs', 'ip_vs_rr']
    assert _realserver_plan.realserver_plan(estate, 'api1')['services'] == []
    assert _realserver_plan.realserver_plan(estate, 'web1')['lo'] == ['10.0.2.100']


def test_the_nginx_balance_words():
    for balance in ('least_conn', 'ip_hash', 'hash $request_uri consistent', 'hash $remote_addr'):
        svc, = expand([dict(SHOP, owner='nginx', routes=[], balance=balance)])
        assert svc['balance'] == balance


@pytest.mark.parametrize('service, words', [
    (dict(SHOP, owner='director'), ['mode proxy needs owner haproxy or nginx']),
    (dict(SHOP, scheduler='rr'), ['.scheduler is an IPVS setting', 'balance chooses']),
    (dict(SHOP, persistence_timeout=30), ['.persistence_timeout is an IPVS setting']),
    (dict(SHOP, proxies=None), ['.proxies must name the inventory group', 'proxy hosts']),
    (dict(SHOP, proxies='nowhere'), ['.proxies names the inventory group', "'nowhere'"]),
    (dict(SHOP, balance='wlc'), ["balance is 'wlc'", 'roundrobin, static-rr']),
    (dict(SHOP, owner='nginx', routes=[], balance='leastconn'), ["balance is 'leastconn'", 'least_conn']),
    (dict(DB, balance='uri'), ["balance is 'uri'", 'tcp mode']),
    (dict(SHOP, balance='hdr(Host)'), None),
    (dict(SHOP, proxy_mode='udp'), ["proxy_mode is 'udp'"]),
    (dict(DB, routes=[{'path': '/x', 'realservers': 'web'}]), ['routes route requests', 'proxy_mode http only']),
    (dict(SHOP, routes=[{'realservers': 'api'}]), ['routes[0] says which requests']),
    (dict(SHOP, routes=[{'path': 'api', 'realservers': 'api'}]), ['routes[0].path must be a path prefix']),
    (dict(SHOP, routes=[{'path_regex': '(', 'realservers': 'api'}]), ['routes[0].path_regex', 'not a regular expression']),
    (dict(SHOP, routes=[{'path': '/a', 'realservers': 'api'}, {'path': '/b', 'realservers': 'api'}]),
     ["routes[1].name 'shop_api' is used twice"]),
    (dict(SHOP, routes=[{'path': '/a', 'realservers': 'nowhere'}]), ["realservers names the inventory group 'nowhere'"]),
    (dict(SHOP, health_check={'type': 'script', 'script': 'true'}), ['type script is keepalived']),
    (dict(SHOP, health_check={'type': 'mysql'}), ['type mysql is haproxy']),
    (dict(SHOP, nginx={'x': 1}), ['.nginx holds nginx settings, but owner is haproxy']),
    (dict(SHOP, protocol='udp'), ["protocol is 'udp'; a proxy service is tcp"]),
    (dict(LVS, proxies='proxies'), ['.proxies is only for mode proxy']),
    (dict(LVS, owner='nginx'), ['owner is nginx', 'set mode: proxy']),
    (dict(LVS, haproxy={}), ['.haproxy holds settings for a proxy service']),
    (dict(SHOP, drain_timeout=30), ['.drain_timeout is 30, but haproxy does not drain by a timeout', 'remove drain_timeout']),
    (dict(SHOP, owner='nginx', routes=[], drain_timeout=5), ['but nginx does not drain']),
    (dict(SHOP, drain_timeout=0), None),
])
def test_bad_proxy_services_are_refused_with_the_reason(service, words):
    if words is None:  # a valid service among the bad ones: the check is not over-eager
        assert expand([service])
        return
    with pytest.raises(_values.PlanError) as info:
        expand([service])
    for word in words:
        assert word in str(info.value)


def test_proxy_only_overrides_are_refused_on_ipvs_services():
    hostvars = copy.deepcopy(HOSTVARS)
    hostvars['web1']['lvs_overrides'] = {'lvs': {'backup': True}}
    with pytest.raises(_values.PlanError, match=r'lvs_overrides.lvs.backup is for proxy services only'):
        expand([LVS], hostvars=hostvars)


def test_haproxy_weights_stop_at_256():
    hostvars = copy.deepcopy(HOSTVARS)
    hostvars['web1']['lvs_weight'] = 300
    with pytest.raises(_values.PlanError, match='haproxy weights go up to 256'):
        expand([dict(SHOP, routes=[])], hostvars=hostvars)
