"""What the nginx_upstream role renders, from the estate's proxy services (plugins/plugin_utils/_nginx_plan.py)."""

import copy

import pytest

from ansible_collections.lvs.cluster.plugins.plugin_utils import _estate, _nginx_plan, _values

GROUPS = {'web': ['web1', 'web2', 'web3'], 'api': ['api1'], 'proxies': ['lb1', 'lb2']}
HOSTVARS = {
    'web1': {'ansible_host': '10.0.0.11'},
    'web2': {'ansible_host': '10.0.0.12', 'lvs_weight': 3, 'lvs_overrides': {'shop': {'maxconn': 50}}},
    'web3': {'ansible_host': '10.0.0.13', 'lvs_overrides': {'shop': {'state': 'drained'}, 'raw': {'state': 'absent'}}},
    'api1': {'ansible_host': '10.0.0.21', 'lvs_port': 8080},
}
SHOP = {'name': 'shop', 'address': '10.0.0.100', 'port': 80, 'mode': 'proxy', 'owner': 'nginx', 'proxies': 'proxies',
        'realservers': 'web', 'health_check': {'type': 'http', 'interval': 2, 'retries': 2},
        'routes': [{'path': '/api/', 'realservers': 'api', 'balance': 'least_conn'},
                   {'name': 'static', 'path_regex': '^/static/', 'realservers': 'web',
                    'balance': 'hash $request_uri consistent'},
                   {'name': 'admin', 'host': 'admin.example', 'realservers': 'api'}]}
RAW = {'name': 'raw', 'address': '10.0.0.101', 'port': 9000, 'realserver_port': 80, 'mode': 'proxy', 'owner': 'nginx',
       'proxies': 'proxies', 'proxy_mode': 'tcp', 'realservers': 'web', 'balance': 'least_conn'}
DEFAULTS = {'keepalive': 32, 'connect_timeout': 2, 'read_timeout': 60, 'send_timeout': 60,
            'next_upstream': ['error', 'timeout'], 'next_upstream_tries': 0}


def plan(services, hostvars=None, defaults=None):
    expanded = _estate.virtual_services(services, hostvars or HOSTVARS, GROUPS)
    return _nginx_plan.plan(_estate.proxy_services(expanded, 'lb1', 'nginx'), defaults or DEFAULTS)


def test_pools_become_upstreams_with_weights_passive_checks_and_drained_members_down():
    result = plan([SHOP])
    shop, api, static, admin = result['http_upstreams']
    assert [u['name'] for u in result['http_upstreams']] == ['lvs_shop', 'lvs_shop_api', 'lvs_static', 'lvs_admin']
    # retries 2 -> out after 3 failures within the 2 s interval, for 2 s
    assert shop['servers'] == ['10.0.0.11:80 max_fails=3 fail_timeout=2s',
                               '10.0.0.12:80 weight=3 max_fails=3 fail_timeout=2s max_conns=50',
                               '10.0.0.13:80 max_fails=3 fail_timeout=2s down']
    assert (shop['method'], api['method'], static['method']) == (None, 'least_conn', 'hash $request_uri consistent')
    assert api['servers'] == ['10.0.0.21:8080 max_fails=3 fail_timeout=2s']
    assert shop['keepalive'] == 32 and admin['context'] == 'http'


def test_routes_become_locations_in_order_and_a_host_route_its_own_server_block():
    default, admin = plan([SHOP])['http_servers']
    assert (default['listen'], default['default_server'], default['server_name']) == ('10.0.0.100:80', True, '_')
    assert [(loc['match'], loc['upstream']) for loc in default['locations']] == [
        ('^~ /api/', 'lvs_shop_api'), ('~ ^/static/', 'lvs_static'), ('/', 'lvs_shop')]
    # the host's block: the routes before it that match any host, then the whole host to its pool
    assert (admin['server_name'], admin['default_server']) == ('admin.example', False)
    assert [(loc['match'], loc['upstream']) for loc in admin['locations']] == [
        ('^~ /api/', 'lvs_shop_api'), ('~ ^/static/', 'lvs_static'), ('/', 'lvs_admin')]
    assert default['next_upstream'] == ['error', 'timeout'] and default['extra'] == []


def test_a_prefix_after_a_regex_lets_the_regex_win_as_the_estate_says():
    svc = dict(SHOP, routes=[{'name': 'images', 'path_regex': r'\.png$', 'realservers': 'web'},
                             {'path': '/api/', 'realservers': 'api'}])
    default, = plan([svc])['http_servers']
    assert [loc['match'] for loc in default['locations']] == [r'~ \.png$', '/api/', '/']


def test_a_root_route_replaces_the_default_location():
    svc = dict(SHOP, routes=[{'path': '/', 'realservers': 'api'}])
    default, = plan([svc])['http_servers']
    assert [(loc['match'], loc['upstream']) for loc in default['locations']] == [('/', 'lvs_shop_api')]


def test_tcp_services_become_stream_servers_and_absent_members_are_left_out():
    result = plan([RAW])
    raw, = result['stream_upstreams']
    assert raw['method'] == 'least_conn' and 'keepalive' not in raw
    assert raw['servers'] == ['10.0.0.11:80 max_fails=2 fail_timeout=6s', '10.0.0.12:80 weight=3 max_fails=2 fail_timeout=6s']
    server, = result['stream_servers']
    assert (server['listen'], server['upstream'], server['read_timeout']) == ('10.0.0.101:9000', 'lvs_raw', 60)
    assert 'send_timeout' not in server and result['http_servers'] == [] and result['families'] == ['ipv4']


def test_service_settings_override_the_defaults_and_absent_services_are_skipped():
    svc = dict(SHOP, routes=[], health_check={'type': 'none'},
               nginx={'keepalive': 0, 'max_fails': 5, 'fail_timeout': 30, 'read_timeout': 5,
                      'next_upstream': 'error timeout http_500', 'server_name': 'shop.example',
                      'extra': ['client_max_body_size 10m;']})
    result = plan([svc, dict(RAW, state='absent')])
    upstream, = result['http_upstreams']
    assert upstream['keepalive'] == 0 and upstream['servers'][0] == '10.0.0.11:80 max_fails=5 fail_timeout=30s'
    server, = result['http_servers']
    assert (server['server_name'], server['read_timeout'], server['send_timeout']) == ('shop.example', 5, 60)
    assert server['next_upstream'] == ['error', 'timeout', 'http_500'] and server['extra'] == ['client_max_body_size 10m;']
    assert result['services'] == ['shop'] and result['stream_servers'] == []
    # no check: nginx never takes a server out by itself
    assert plan([dict(svc, nginx={})])['http_upstreams'][0]['servers'][0] == '10.0.0.11:80 max_fails=0 fail_timeout=10s'


def test_ipv6_vips_are_bracketed():
    hostvars = {name: {'ansible_host': '2001:db8::%d' % index} for index, name in enumerate(['web1', 'web2', 'web3', 'api1'], 1)}
    result = plan([dict(RAW, address='2001:db8::100')], hostvars=hostvars)
    assert result['stream_servers'][0]['listen'] == '[2001:db8::100]:9000'
    assert result['stream_upstreams'][0]['servers'][0].startswith('[2001:db8::1]:80 ')
    assert result['families'] == ['ipv6']


@pytest.mark.parametrize('service, hostvars_change, words', [
    (dict(SHOP, nginx={'bogus': 1}), None, ['[shop].nginx has unknown key(s) bogus', 'keepalive']),
    (dict(RAW, nginx={'keepalive': 4}), None, ['[raw].nginx has unknown key(s) keepalive', 'a tcp service']),
    (dict(SHOP, nginx={'keepalive': -1}), None, ['nginx.keepalive is -1']),
    (dict(SHOP, nginx={'read_timeout': 'soon'}), None, ['nginx.read_timeout (seconds) must be an integer']),
    (dict(SHOP, nginx={'next_upstream': ['error', 'sometimes']}), None, ['nginx.next_upstream is']),
    (dict(SHOP, nginx={'next_upstream': ['off', 'error']}), None, ['"off" alone']),
    (dict(SHOP, nginx={'server_name': 'a b'}), None, ['nginx.server_name must be a host name']),
    (dict(SHOP, nginx={'extra': 'gzip on;'}), None, ['nginx.extra must be a list of one-line strings']),
    (dict(SHOP, routes=[], balance='ip_hash'), {'web1': {'lvs_overrides': {'shop': {'backup': True}}}},
     ['host web1: lvs_overrides.shop.backup is true', 'balance ip_hash']),
    (dict(SHOP, routes=[]), {name: {'lvs_overrides': {'shop': {'state': 'absent'}}} for name in ('web1', 'web2', 'web3')},
     ['pool shop has no real server that is not absent']),
    (dict(SHOP, routes=[{'path': '/a', 'realservers': 'api'}, {'name': 'ab', 'path': '/ab', 'realservers': 'web'}]), None,
     ['routes[1].path /ab is never used: routes[0].path /a comes first']),
])
def test_bad_settings_are_refused_with_the_reason(service, hostvars_change, words):
    hostvars = copy.deepcopy(HOSTVARS)
    for host, change in (hostvars_change or {}).items():
        hostvars[host].update(change)
    with pytest.raises(_values.PlanError) as info:
        plan([service], hostvars=hostvars)
    for word in words:
        assert word in str(info.value)


def test_a_pool_name_is_one_upstream():
    blog = dict(SHOP, name='blog', address='10.0.0.102', routes=[{'name': 'shop', 'path': '/x', 'realservers': 'api'}])
    with pytest.raises(_values.PlanError, match="pool name 'shop' is also a pool of service shop"):
        plan([dict(SHOP, routes=[]), blog])


def test_allow_and_deny_become_the_access_rules_of_every_server_block_in_order():
    result = plan([dict(SHOP, allow=['10.1.0.0/16'], deny=['10.1.2.3']), dict(RAW, deny=['10.9.0.0/16'])])
    # the service's default block and its Host route's block alike
    assert [block['access'] for block in result['http_servers']] == [
        ['deny 10.1.2.3/32', 'allow 10.1.0.0/16', 'deny all']] * 2
    assert result['stream_servers'][0]['access'] == ['deny 10.9.0.0/16']
    assert plan([RAW])['stream_servers'][0]['access'] == []


def test_rate_limit_headers_and_redirects_in_every_server_block_with_the_zone_in_http():
    shop = dict(SHOP, rate_limit={'requests_per_second': 5}, response_headers={'X-Lab': 'yes'},
                redirects=[{'path': '/old/', 'to': 'https://shop.example/new/', 'code': 302}])
    result = plan([shop])
    # the upstream of the service's own pool has its zone lvs_shop: the rate's zone has another name
    assert [upstream['name'] for upstream in result['http_upstreams']][0] == 'lvs_shop'
    assert result['rate_zones'] == ['limit_req_zone $binary_remote_addr zone=lvs-rate-shop:10m rate=5r/s']
    for block in result['http_servers']:
        assert block['limit_req'] == 'limit_req zone=lvs-rate-shop burst=5 nodelay'
        assert block['headers'] == ['add_header X-Lab "yes" always']
        assert block['redirects'] == [{'match': '^~ /old/', 'return': '302 https://shop.example/new/'}]
    assert plan([SHOP])['http_servers'][0]['limit_req'] is None


def test_nginx_has_no_sticky_cookie_and_says_what_to_use_instead():
    with pytest.raises(_values.PlanError, match=r'nginx \(open source\) has no sticky cookie: balance ip_hash'):
        plan([dict(SHOP, sticky_cookie='SRV')])


def test_basic_auth_names_the_user_file_and_the_list_must_exist():
    hashed = '$6$labsaltlabsalt$gFNlJ3w0sOqCkLRJhStDHPCLh/rIConxWRsM/czPKXSTpJum27bKwLw1/5FvHY3/vhLn9.GjRU0A0Ih5j0hnb0'
    shop = dict(SHOP, basic_auth={'userlist': 'staff'})
    result = plan([shop], defaults=dict(DEFAULTS, userlists={'staff': [{'user': 'bob', 'password_hash': hashed}]}))
    assert result['userlists'] == ['staff']
    assert [block['auth'] for block in result['http_servers']] == [{'realm': 'shop', 'userlist': 'staff'}] * 2
    assert hashed not in repr(result)
    with pytest.raises(_values.PlanError, match="nginx_upstream_userlists has no userlist 'staff'"):
        plan([shop])


def test_a_route_has_its_own_access_rate_and_headers_in_its_locations():
    svc = copy.deepcopy(SHOP)
    svc['response_headers'] = {'X-Site': 'shop', 'X-Both': 'service'}
    svc['routes'][0].update(allow=['10.0.0.0/8'], rate_limit={'requests_per_second': 5, 'burst': 1},
                            response_headers={'X-Both': 'route'})
    result = plan([svc])
    default, admin = result['http_servers']
    api = next(location for location in default['locations'] if location['pool'] == 'shop_api')
    # add_header in a location drops the server's: the service's headers are repeated, the route's value wins
    assert api['rules'] == ['allow 10.0.0.0/8', 'deny all', 'limit_req zone=lvs-rate-shop_api burst=1 nodelay',
                            'limit_req_status 429', 'add_header X-Both "route" always', 'add_header X-Site "shop" always']
    assert 'limit_req_zone $binary_remote_addr zone=lvs-rate-shop_api:10m rate=5r/s' in result['rate_zones']
    # the host block's copy of the route's location has them too; the other locations none
    assert next(loc for loc in admin['locations'] if loc['pool'] == 'shop_api')['rules'] == api['rules']
    assert all(location['rules'] == [] for location in default['locations'] if location['pool'] != 'shop_api')
