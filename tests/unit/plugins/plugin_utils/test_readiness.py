"""Real servers that are not ready join no pool, and stay in the pools that have them already."""

import json

import pytest

from ansible_collections.lvs.cluster.plugins.plugin_utils import _estate, _haproxy, _nginx_plan, _readiness, _values

GROUPS = {'web': ['web1', 'web2', 'web3'], 'proxies': ['lb1']}
HOSTVARS = {'web1': {'ansible_host': '10.0.0.11'}, 'web2': {'ansible_host': '10.0.0.12'},
            'web3': {'ansible_host': '10.0.0.13'}}
DR = {'name': 'dr', 'address': '10.0.0.100', 'port': 80, 'realservers': 'web', 'scheduler': 'rr'}
MARK = {'name': 'mark', 'fwmark': 7, 'family': 'ipv4', 'realservers': 'web', 'scheduler': 'rr', 'owner': 'keepalived'}
SHOP = {'name': 'shop', 'address': '10.0.0.101', 'port': 80, 'mode': 'proxy', 'owner': 'haproxy', 'proxies': 'proxies',
        'realservers': 'web', 'routes': [{'path': '/api', 'realservers': 'web'}]}
BLOG = dict(SHOP, name='blog', owner='nginx', port=81, realserver_port=80, routes=[])


def expand(services, groups=None):
    return _estate.virtual_services(services, HOSTVARS, groups or GROUPS)


def hosts(svc):
    return [member['host'] for member in svc['members']]


def kernel(service, servers):
    return [dict(service, servers=[{'address': address, 'port': port} for address, port in servers])]


def test_nothing_unready_is_the_estate_as_it_is():
    estate = expand([DR, SHOP])
    assert _readiness.ready_members(estate, []) is estate
    assert _readiness.left_out(estate, _readiness.ready_members(estate, [])) == []


def test_an_unready_host_joins_no_ipvs_service_but_stays_where_the_kernel_has_it():
    estate = expand([DR, dict(DR, name='dr2', port=8080)])
    table = kernel({'protocol': 'tcp', 'address': '10.0.0.100', 'port': 80}, [('10.0.0.11', 80), ('10.0.0.13', 80)])
    ready = _readiness.ready_members(estate, ['web3', 'web2'], table)
    # web3 serves dr already (kept), web2 does not (left out); neither serves dr2 yet
    assert [hosts(svc) for svc in ready] == [['web1', 'web3'], ['web1']]
    assert _readiness.left_out(estate, ready) == ['web2 (dr)', 'web2 (dr2)', 'web3 (dr2)']
    # the estate it was given is not changed
    assert [hosts(svc) for svc in estate] == [['web1', 'web2', 'web3']] * 2


def test_without_the_kernel_table_no_unready_host_is_kept():
    ready = _readiness.ready_members(expand([DR]), ['web3'], None)
    assert hosts(ready[0]) == ['web1', 'web2']


def test_a_firewall_mark_service_is_matched_by_address():
    # keepalived programs a firewall-mark service's real servers without their port
    table = kernel({'fwmark': 7, 'family': 'ipv4'}, [('10.0.0.13', 0)])
    ready = _readiness.ready_members(expand([MARK]), ['web2', 'web3'], table)
    assert hosts(ready[0]) == ['web1', 'web3']


def test_a_proxy_keeps_an_unready_host_its_live_configuration_names():
    # the live files as the roles render them from the estate of the last run (web1 and web3)
    last_run = expand([SHOP, BLOG], groups=dict(GROUPS, web=['web1', 'web3']))
    haproxy_text = json.dumps(_haproxy.plan(last_run, 'lb1', {}))
    nginx_text = json.dumps(_nginx_plan.plan(_estate.proxy_services(last_run, 'lb1', 'nginx'), {}))
    assert '10.0.0.13:80' in haproxy_text and '10.0.0.13:80' in nginx_text
    estate = expand([SHOP, BLOG])
    shop = _readiness.ready_members(estate, ['web2', 'web3'], None, haproxy_text)[0]
    assert hosts(shop) == ['web1', 'web3']
    assert [member['host'] for member in shop['routes'][0]['members']] == ['web1', 'web3']
    blog = _readiness.ready_members(estate, ['web2', 'web3'], None, nginx_text)[1]
    assert hosts(blog) == ['web1', 'web3']


def test_a_live_configuration_names_an_address_only_whole():
    estate = expand([SHOP])
    # 10.0.0.13:80 is not in 110.0.0.13:80, 10.0.0.13:8080 or 10.0.0.130:80
    text = 'server a 110.0.0.13:80\nserver b 10.0.0.13:8080\nserver c 10.0.0.130:80\n'
    assert hosts(_readiness.ready_members(estate, ['web3'], None, text)[0]) == ['web1', 'web2']
    assert hosts(_readiness.ready_members(estate, ['web3'], None, 'server 10.0.0.13:80;')[0]) == ['web1', 'web2', 'web3']


def test_ipv6_in_brackets_as_nginx_writes_it():
    hostvars = dict(HOSTVARS, web3={'ansible_host': '2001:db8::13'})
    svc = dict(BLOG, address='2001:db8::101', realservers='v6')
    estate = _estate.virtual_services([svc], hostvars, dict(GROUPS, v6=['web3']))
    assert hosts(_readiness.ready_members(estate, ['web3'], None, 'server [2001:db8::13]:80;')[0]) == ['web3']
    assert hosts(_readiness.ready_members(estate, ['web3'], None, 'server [2001:db8::1]:80;')[0]) == []


def test_the_live_pool_given_in_the_wrong_place_is_refused():
    # a configuration's text where the kernel's table belongs (a role that passed it second, not third)
    with pytest.raises(_values.PlanError, match='kernel_services must be the list ipvs_info returns'):
        _readiness.ready_members(expand([SHOP]), ['web3'], 'server web3 10.0.0.13:80')
    with pytest.raises(_values.PlanError, match='live_config must be the text'):
        _readiness.ready_members(expand([SHOP]), ['web3'], None, [])


def test_the_member_index_follows_the_members_left():
    estate = expand([DR])
    ready = _readiness.ready_members(estate, ['web2'], None)
    assert ready[0]['member_index'] == {'web1': 0, 'web3': 1}
    # a real server's plan finds itself through the index, and web2 serves nothing of the ready estate
    assert [svc['member']['host'] for svc in _estate.served_by(ready, 'web3')] == ['web3']
    assert _estate.served_by(ready, 'web2') == []
    assert 'member_index' not in _estate.served_by(ready, 'web3')[0]
