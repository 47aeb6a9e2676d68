"""haproxy.cfg as the haproxy role prints it, from the expanded estate (plugins/plugin_utils/_haproxy.py)."""

import copy
import re

import pytest

from ansible_collections.lvs.cluster.plugins.plugin_utils import _estate
from ansible_collections.lvs.cluster.plugins.plugin_utils import _config_test, _haproxy

GROUPS = {'web': ['web1', 'web2', 'web3'], 'api': ['api1'], 'db': ['web1', 'web2', 'web3'], 'proxies': ['lb1', 'lb2'],
          'other_proxies': ['lb3'], 'nobody': []}
HOSTVARS = {
    'web1': {'ansible_host': '10.0.0.11'},
    'web2': {'ansible_host': '10.0.0.12', 'lvs_weight': 3, 'lvs_overrides': {'shop': {'maxconn': 50, 'backup': True}}},
    'web3': {'ansible_host': '10.0.0.13', 'lvs_overrides': {'shop': {'state': 'drained'}, 'db': {'state': 'absent'}}},
    'api1': {'ansible_host': '10.0.0.21', 'lvs_port': 8080},
}
SHOP = {'name': 'shop', 'address': '10.0.0.100', 'port': 80, 'mode': 'proxy', 'owner': 'haproxy', 'proxies': 'proxies',
        'realservers': 'web', 'health_check': {'type': 'http', 'path': '/health', 'status': [200, 204], 'interval': 2,
                                               'retries': 2},
        'routes': [{'path': '/api/', 'realservers': 'api', 'balance': 'leastconn', 'health_check': {'type': 'tcp'}},
                   {'name': 'img', 'path_regex': r'\.png$', 'host': '*.img.example', 'realservers': 'web'}],
        'haproxy': {'retries': 1, 'redispatch': False, 'timeout_client': 7, 'frontend_extra': ['http-request deny if FALSE'],
                    'backend_extra': ['http-reuse safe']}}
DB = {'name': 'db', 'address': '10.0.0.101', 'port': 3306, 'mode': 'proxy', 'owner': 'haproxy', 'proxies': 'proxies',
      'proxy_mode': 'tcp', 'realservers': 'db', 'health_check': {'type': 'mysql', 'user': 'haproxy_check'}}
CONF = {'timeout_connect': '5s', 'timeout_client': '30s', 'timeout_server': 30, 'timeout_check': '3s', 'retries': 3,
        'redispatch': True, 'maxconn': 4096, 'global_extra': ['nbthread 2'], 'defaults_extra': [],
        'log_target': '/dev/log', 'log_facility': 'local0', 'log_level': 'info', 'stats_enabled': False}


def plan(services, host='lb1', conf=None, hostvars=None):
    expanded = _estate.virtual_services(services, hostvars or HOSTVARS, GROUPS)
    return _haproxy.plan(expanded, host, CONF if conf is None else conf)


def section(result, header):
    return next(one for one in result['sections'] if one['header'] == header)


def test_global_and_defaults_from_the_role_settings_with_the_extra_lines_marked():
    result = plan([])
    assert [one['header'] for one in result['sections']] == ['global', 'defaults']
    assert section(result, 'global')['lines'][-4:] == [
        'maxconn 4096', '# lvs.cluster extra: haproxy_global_extra', 'nbthread 2', '# lvs.cluster end: haproxy_global_extra']
    # a number of seconds becomes a haproxy time; an empty extra adds no comments
    assert section(result, 'defaults')['lines'] == [
        'log global', 'option dontlognull', 'load-server-state-from-file global', 'timeout connect 5s', 'timeout client 30s',
        'timeout server 30s', 'timeout check 3s', 'retries 3', 'option redispatch']
    assert result['services'] == [] and result['families'] == []


def test_http_frontend_routes_acls_and_extra_lines_then_the_default_backend():
    shop = section(plan([SHOP]), 'frontend shop')
    assert shop['comment'] == '--- service shop: http on 10.0.0.100:80 ---'
    assert shop['lines'] == [
        'mode http', 'bind 10.0.0.100:80', 'option httplog', 'option forwardfor', 'timeout client 7s',
        'acl shop_api_path path_beg /api/', 'use_backend shop_api if shop_api_path',
        r'acl img_path path_reg \.png$', 'acl img_host req.hdr(host),field(1,:) -m end -i .img.example',
        'use_backend img if img_path img_host',
        '# lvs.cluster extra: lvs_virtual_services[shop].haproxy.frontend_extra', 'http-request deny if FALSE',
        '# lvs.cluster end: lvs_virtual_services[shop].haproxy.frontend_extra', 'default_backend shop']


def test_backends_per_pool_with_checks_settings_and_servers_drained_at_weight_zero():
    result = plan([SHOP])
    assert [one['header'] for one in result['sections'][2:]] == ['frontend shop', 'backend shop', 'backend shop_api',
                                                                 'backend img']
    shop = section(result, 'backend shop')['lines']
    assert shop[:9] == ['mode http', 'balance roundrobin', 'option httpchk', 'http-check send meth GET uri /health',
                        'http-check expect rstatus ^(200|204)$', 'timeout check 3s', 'retries 1', 'no option redispatch',
                        '# lvs.cluster extra: lvs_virtual_services[shop].haproxy.backend_extra']
    words = ' check inter 2s fastinter 1s rise 3 fall 3'
    assert shop[-3:] == ['server web1 10.0.0.11:80 weight 1' + words,
                         'server web2 10.0.0.12:80 weight 3 maxconn 50 backup' + words,
                         'server web3 10.0.0.13:80 weight 0' + words]
    api = section(result, 'backend shop_api')['lines']
    assert api[:3] == ['mode http', 'balance leastconn', 'timeout check 3s']
    assert api[-1] == 'server api1 10.0.0.21:8080 weight 1 check inter 6s fastinter 1s rise 2 fall 2'
    assert result['services'] == ['shop'] and result['families'] == ['ipv4']


def test_tcp_service_with_mysql_check_leaves_absent_members_out():
    result = plan([DB])
    assert section(result, 'frontend db')['lines'] == ['mode tcp', 'bind 10.0.0.101:3306', 'option tcplog',
                                                       'default_backend db']
    assert section(result, 'backend db')['lines'] == [
        'mode tcp', 'balance roundrobin', 'option mysql-check user haproxy_check post-41', 'timeout check 3s',
        'server web1 10.0.0.11:3306 weight 1 check inter 6s fastinter 1s rise 2 fall 2',
        'server web2 10.0.0.12:3306 weight 3 check inter 6s fastinter 1s rise 2 fall 2']


def test_https_check_with_host_port_and_one_status():
    svc = dict(SHOP, routes=[], haproxy={}, health_check={'type': 'https', 'host': 'www.example', 'port': 8443})
    lines = section(plan([svc]), 'backend shop')['lines']
    assert lines[2:5] == ['option httpchk', 'http-check send meth GET uri / ver HTTP/1.1 hdr Host www.example',
                          'http-check expect status 200']
    assert lines[-1].endswith(' check inter 6s fastinter 1s rise 2 fall 2 port 8443 check-ssl verify none')


def test_only_present_services_haproxy_serves_on_this_host():
    other = dict(DB, name='other', address='10.0.0.102', proxies='other_proxies')
    gone = dict(DB, name='gone', address='10.0.0.103', state='absent')
    nginx = dict(DB, name='ng', address='10.0.0.104', owner='nginx', health_check={'type': 'tcp'})
    assert plan([other, gone, nginx, DB])['services'] == ['db']
    assert plan([other, DB], host='lb3')['services'] == ['other']


def test_a_pool_with_no_server_is_refused_naming_the_service():
    with pytest.raises(_haproxy.PlanError, match=r'lvs_virtual_services\[empty\]: its pool has no real server'):
        plan([dict(DB, name='empty', realservers='nobody')])
    # every member absent is as empty; a route's pool is named with its group
    hostvars = copy.deepcopy(HOSTVARS)
    hostvars['api1']['lvs_overrides'] = {'shop': {'state': 'absent'}}
    with pytest.raises(_haproxy.PlanError, match=r'\[shop\]: the pool of its route shop_api \(group api\) has no'):
        plan([SHOP], hostvars=hostvars)


def test_two_pools_of_one_name_on_a_host_are_refused():
    clash = dict(DB, name='img', address='10.0.0.105', port=80, proxy_mode='http', health_check={'type': 'tcp'})
    with pytest.raises(_haproxy.PlanError, match=r"\[shop\]: the pool \(backend\) name 'img' is also a pool of service img"):
        plan([clash, SHOP])


@pytest.mark.parametrize('settings, message', [
    ({'retry': 1}, r'\[shop\]\.haproxy has unknown key\(s\) retry'),
    ({'timeout_server': '10 s'}, r'\[shop\]\.haproxy\.timeout_server is .* haproxy time'),
    ({'timeout_client': -1}, r'timeout_client is -1'),
    ({'retries': -1}, r'\[shop\]\.haproxy\.retries is -1'),
    ({'maxconn': 0}, r'\[shop\]\.haproxy\.maxconn is 0'),
    ({'redispatch': 'yes'}, r'redispatch must be true or false'),
    ({'forwardfor': 1}, r'forwardfor must be true or false'),
    ({'frontend_extra': 'option x'}, r'frontend_extra must be a list of one-line strings'),
    ({'backend_extra': ['a\nb']}, r'backend_extra must be a list of one-line strings'),
])
def test_bad_service_settings_are_refused_naming_the_variable(settings, message):
    with pytest.raises(_haproxy.PlanError, match=message):
        plan([dict(SHOP, haproxy=settings)])


@pytest.mark.parametrize('change, message', [
    ({'timeout_connect': '5 seconds'}, r'^haproxy_timeout_connect is'),
    ({'retries': -2}, r'haproxy_retries'),
    ({'maxconn': 0}, r'haproxy_maxconn'),
    ({'redispatch': 'no'}, r'^haproxy_redispatch must be true or false'),
    ({'defaults_extra': ['']}, r'^haproxy_defaults_extra must be'),
    ({'log_level': 'loud'}, r'^haproxy_log_level'),
    ({'stats_enabled': True, 'stats_user': 'admin'}, r'^haproxy_stats_password must be set'),
    ({'stats_enabled': True, 'stats_user': 'admin', 'stats_password': "it's"}, r'^haproxy_stats_password must be set'),
    ({'stats_enabled': True, 'stats_user': 'ad min', 'stats_password': 'x'}, r'^haproxy_stats_user must be'),
])
def test_bad_role_settings_are_refused_naming_the_variable(change, message):
    with pytest.raises(_haproxy.PlanError, match=message) as raised:
        plan([SHOP], conf=dict(CONF, **change))
    assert "it's" not in str(raised.value)  # a password is never part of a message


def test_the_stats_password_is_checked_but_never_in_the_plan():
    result = plan([SHOP], conf=dict(CONF, stats_enabled=True, stats_user='admin', stats_password='s3cret pw'))
    assert 's3cret' not in repr(result)


def test_every_extra_line_maps_back_to_its_variable():
    result = plan([SHOP], conf=dict(CONF, defaults_extra=['balance fastest']))
    text = '\n'.join(line for one in result['sections'] for line in [one['header']] + one['lines'])
    lines = text.splitlines()
    owners = _config_test.extra_variables(text)
    assert {lines[number - 1]: owner for number, owner in owners.items()} == {
        'nbthread 2': 'haproxy_global_extra', 'balance fastest': 'haproxy_defaults_extra',
        'http-request deny if FALSE': 'lvs_virtual_services[shop].haproxy.frontend_extra',
        'http-reuse safe': 'lvs_virtual_services[shop].haproxy.backend_extra'}


def test_allow_and_deny_refuse_http_with_403_and_tcp_at_connect_deny_first():
    shop = dict(SHOP, routes=[], allow=['10.1.0.0/16', '192.0.2.7'], deny=['10.1.2.0/24'])
    db = dict(DB, deny=['2001:db8::/32', '10.9.9.9/8'])
    result = plan([shop, db])
    lines = section(result, 'frontend shop')['lines']
    access = [line for line in lines if 'access_' in line]
    assert access == ['acl access_denied src 10.1.2.0/24', 'acl access_allowed src 10.1.0.0/16 192.0.2.7/32',
                      'http-request deny deny_status 403 if access_denied',
                      'http-request deny deny_status 403 if !access_allowed']
    # before the routes' use_backend and the default backend
    assert lines.index(access[-1]) < lines.index('default_backend shop')
    # a host address is its /32 (or /128); a network given with host bits is its network
    assert [line for line in section(result, 'frontend db')['lines'] if 'access_' in line] == [
        'acl access_denied src 2001:db8::/32 10.0.0.0/8', 'tcp-request connection reject if access_denied']
    assert not [line for line in section(plan([SHOP]), 'frontend shop')['lines'] if 'access_' in line]


@pytest.mark.parametrize('value, message', [
    ([], 'allow must be a list of source networks'),
    ('10.0.0.0/8', 'allow must be a list of source networks'),
    (['10.0.0.0/33'], "allow[0] is '10.0.0.0/33', not a network or an address"),
    ([True], 'allow[0] is True, not a network'),
])
def test_bad_access_networks_are_refused_naming_the_key(value, message):
    with pytest.raises(Exception, match=re.escape('lvs_virtual_services[shop].' + message)):
        plan([dict(SHOP, allow=value)])


def test_access_rules_are_for_proxy_services_only():
    with pytest.raises(Exception, match=re.escape('lvs_virtual_services[dr].allow')):
        _estate.virtual_services([{'name': 'dr', 'address': '10.0.0.50', 'port': 80, 'realservers': 'web',
                                   'allow': ['10.0.0.0/8']}], HOSTVARS, GROUPS)


def test_rate_limit_redirects_headers_in_the_frontend_and_a_sticky_cookie_in_every_pool():
    shop = dict(SHOP, rate_limit={'requests_per_second': 5, 'burst': 3},
                redirects=[{'path': '/old/', 'to': 'https://shop.example/new/', 'code': 308}, {'path': '/x', 'to': '/y'}],
                response_headers={'Strict-Transport-Security': 'max-age=31536000; includeSubDomains', 'X-Lab': 1},
                sticky_cookie='SRV')
    result = plan([shop])
    lines = section(result, 'frontend shop')['lines']
    assert lines[lines.index('http-request track-sc0 src') - 1:lines.index('acl shop_api_path path_beg /api/')] == [
        'stick-table type ip size 100k expire 10s store http_req_rate(1s)',
        'http-request track-sc0 src',
        'http-request deny deny_status 429 if { sc_http_req_rate(0) gt 8 }',
        'http-request redirect location https://shop.example/new/ code 308 if { path_beg /old/ }',
        'http-request redirect location /y code 301 if { path_beg /x }',
        'http-response set-header Strict-Transport-Security "max-age=31536000; includeSubDomains"',
        'http-response set-header X-Lab "1"']
    for pool in ('shop', 'shop_api', 'img'):
        backend_lines = section(result, 'backend %s' % pool)['lines']
        assert 'cookie SRV insert indirect nocache' in backend_lines
        assert all(' cookie %s' % line.split()[1] in line for line in backend_lines if line.startswith('server '))


@pytest.mark.parametrize('change, message', [
    ({'rate_limit': {'burst': 2}}, 'rate_limit.requests_per_second is required'),
    ({'rate_limit': {'requests_per_second': 0}}, 'rate_limit.requests_per_second is 0'),
    ({'redirects': [{'path': 'old', 'to': '/new'}]}, 'redirects[0].path must be a path prefix'),
    ({'redirects': [{'path': '/old', 'to': 'ftp://x/'}]}, 'redirects[0].to must be a URL'),
    ({'redirects': [{'path': '/old', 'to': '/new', 'code': 304}]}, 'redirects[0].code is 304'),
    ({'redirects': [{'path': '/z', 'to': '/b'}, {'path': '/z', 'to': '/c'}]}, 'redirects[1].path /z is redirected twice'),
    ({'redirects': [{'path': '/ap', 'to': '/b'}]}, 'redirects[0].path /ap takes every request under it, so the route'),
    ({'response_headers': {'Bad Name': 'x'}}, "response_headers: 'Bad Name' is not a header name"),
    ({'response_headers': {'X-A': 'a "quoted" value'}}, 'response_headers.X-A must be text without quotes'),
    ({'response_headers': {'X-A': '$host'}}, 'response_headers.X-A must be text without quotes'),
    ({'sticky_cookie': 'a cookie'}, 'sticky_cookie must be a cookie name'),
])
def test_bad_http_rules_are_refused_naming_the_key(change, message):
    with pytest.raises(Exception, match=re.escape('lvs_virtual_services[shop].' + message)):
        plan([dict(SHOP, **change)])


def test_http_rules_are_refused_on_a_tcp_service():
    with pytest.raises(Exception, match=re.escape('lvs_virtual_services[db].rate_limit acts on HTTP requests')):
        plan([dict(DB, rate_limit={'requests_per_second': 1})])


HASH = '$6$labsaltlabsalt$gFNlJ3w0sOqCkLRJhStDHPCLh/rIConxWRsM/czPKXSTpJum27bKwLw1/5FvHY3/vhLn9.GjRU0A0Ih5j0hnb0'


def test_basic_auth_asks_for_a_user_of_the_list_and_the_plan_names_the_list_only():
    shop = dict(SHOP, routes=[], basic_auth={'realm': 'Staff only', 'userlist': 'staff'}, rate_limit={'requests_per_second': 1})
    result = plan([shop], conf=dict(CONF, userlists={'staff': [{'user': 'alice', 'password_hash': HASH}]}))
    lines = section(result, 'frontend shop')['lines']
    auth = 'http-request auth realm "Staff only" unless { http_auth(lvs_staff) }'
    # after the rate limit: a client over its rate is not asked for a password
    assert lines.index(auth) > lines.index('http-request track-sc0 src')
    assert result['userlists'] == ['staff']
    assert HASH not in repr(result)


@pytest.mark.parametrize('userlists, message', [
    ({}, "haproxy_userlists has no userlist 'staff'"),
    ({'staff': []}, 'haproxy_userlists.staff must be a list of {user, password_hash}'),
    ({'staff': [{'user': 'alice', 'password_hash': 'plain secret'}]},
     'haproxy_userlists.staff[0].password_hash (user alice) must be a SHA-512, SHA-256 or yescrypt crypt hash'),
    ({'staff': [{'user': 'alice', 'password_hash': HASH}, {'user': 'alice', 'password_hash': HASH}]},
     'haproxy_userlists.staff[1].user must be a user name'),
    ({'staff': [{'user': 'alice', 'password': 'x'}]}, 'haproxy_userlists.staff[0] must be a mapping with user and password_hash'),
])
def test_bad_userlists_are_refused_without_quoting_the_secret(userlists, message):
    shop = dict(SHOP, basic_auth={'userlist': 'staff'})
    with pytest.raises(Exception, match=re.escape(message)) as caught:
        plan([shop], conf=dict(CONF, userlists=userlists))
    assert 'plain secret' not in str(caught.value) and HASH not in str(caught.value)


def test_basic_auth_is_checked_in_the_estate():
    with pytest.raises(Exception, match=re.escape('lvs_virtual_services[shop].basic_auth.userlist must name a list')):
        plan([dict(SHOP, basic_auth={'realm': 'x'})])
    with pytest.raises(Exception, match=re.escape('lvs_virtual_services[shop].basic_auth.realm must be text')):
        plan([dict(SHOP, basic_auth={'userlist': 'staff', 'realm': 'say "hi"'})])


def test_a_route_has_its_own_access_rate_and_headers_in_its_backend_only():
    shop = copy.deepcopy(SHOP)
    shop['response_headers'] = {'X-Site': 'shop', 'X-Both': 'service'}
    shop['routes'][0].update(deny=['10.9.0.0/16'], rate_limit={'requests_per_second': 5, 'burst': 1},
                             response_headers={'X-Both': 'route'})
    result = plan([shop])
    api = section(result, 'backend shop_api')['lines']
    assert api[api.index('acl access_denied src 10.9.0.0/16'):][:5] == [
        'acl access_denied src 10.9.0.0/16', 'http-request deny deny_status 403 if access_denied',
        'stick-table type ip size 100k expire 10s store http_req_rate(1s)', 'http-request track-sc0 src',
        'http-request deny deny_status 429 if { sc_http_req_rate(0) gt 6 }']
    assert 'http-response set-header X-Both "route"' in api
    # the service's own rules stay in the frontend; the other pools get none of the route's
    assert 'http-response set-header X-Both "service"' in section(result, 'frontend shop')['lines']
    assert not any('access_denied' in line or 'track-sc0' in line
                   for name in ('backend shop', 'backend img') for line in section(result, name)['lines'])


@pytest.mark.parametrize('service_keys, route_keys, message', [
    ({'allow': ['10.0.0.0/8']}, {'deny': ['10.9.0.0/16']}, 'routes[0].deny: the service has allow/deny of its own'),
    ({'rate_limit': {'requests_per_second': 1}}, {'rate_limit': {'requests_per_second': 2}},
     'routes[0].rate_limit: the service has rate_limit of its own'),
    ({}, {'deny': []}, 'routes[0].deny must be a list of source networks'),
])
def test_route_rules_the_proxies_would_apply_differently_are_refused(service_keys, route_keys, message):
    shop = copy.deepcopy(SHOP)
    shop.update(service_keys)
    shop['routes'][0].update(route_keys)
    with pytest.raises(Exception, match=re.escape('lvs_virtual_services[shop].' + message)):
        plan([shop])
