"""The estate's status: the kernels and VIP holders set against the estate, every difference a finding."""

import json

from ansible_collections.lvs.cluster.plugins.plugin_utils import _estate, _status

GROUPS = {'web': ['web1', 'web2'], 'directors': ['d1', 'd2'], 'proxies': ['lb1', 'lb2']}
HOSTVARS = {'web1': {'ansible_host': '10.0.0.11'}, 'web2': {'ansible_host': '10.0.0.12'}}
WEB = {'name': 'web', 'address': '10.0.0.100', 'port': 80, 'realservers': 'web', 'scheduler': 'rr', 'owner': 'keepalived'}
API = {'name': 'api', 'address': '10.0.0.101', 'port': 443, 'realservers': 'web', 'scheduler': 'wlc',
       'persistence_timeout': 300}
SHOP = {'name': 'shop', 'address': '10.0.0.102', 'port': 80, 'mode': 'proxy', 'owner': 'haproxy', 'proxies': 'proxies',
        'realservers': 'web'}
RATES = {'connections': 0, 'incoming_packets': 0, 'outgoing_packets': 0, 'incoming_bytes': 0, 'outgoing_bytes': 0}


def kernel_service(address, port, scheduler, servers, timeout=None):
    """A service as lvs.cluster.ipvs_info returns it (its RETURN sample's keys)."""
    return {'family': 'ipv4', 'protocol': 'tcp', 'address': address, 'port': port, 'fwmark': None,
            'scheduler': scheduler, 'persistence_timeout': timeout, 'persistence_netmask': 32 if timeout else None,
            'persistence_engine': None, 'one_packet': False, 'sh_fallback': False, 'sh_port': False,
            'mh_fallback': False, 'mh_port': False, 'other_flags': 0, 'flags': 1 if timeout else 0,
            'rates': dict(RATES, connections=3),
            'servers': [{'address': a, 'port': p, 'family': 'ipv4', 'forwarding': 'dr', 'weight': w,
                         'upper_threshold': 0, 'lower_threshold': 0, 'active_connections': act,
                         'inactive_connections': 1, 'persistent_connections': 0, 'rates': dict(RATES, connections=2)}
                        for a, p, w, act in servers]}


def addresses(*local):
    return json.dumps([{'ifname': 'lo', 'addr_info': [{'local': '127.0.0.1'}, {'local': '10.0.0.100'}]},
                       {'ifname': 'eth0', 'addr_info': [{'local': address} for address in local]}])


def observed(d1_table, d2_table, d1_vips=('10.0.0.100', '10.0.0.101'), lb_vips=('10.0.0.102',)):
    return {'d1': {'ipvs': d1_table, 'addresses': addresses('192.168.0.1', *d1_vips), 'keepalived': 'active'},
            'd2': {'ipvs': d2_table, 'addresses': addresses('192.168.0.2'), 'keepalived': 'active'},
            'lb1': {'ipvs': None, 'addresses': addresses('192.168.0.3', *lb_vips), 'keepalived': 'active'},
            'lb2': {'ipvs': None, 'addresses': addresses('192.168.0.4'), 'keepalived': 'active'}}


def as_declared():
    return [kernel_service('10.0.0.100', 80, 'rr', [('10.0.0.11', 80, 1, 4), ('10.0.0.12', 80, 1, 5)]),
            kernel_service('10.0.0.101', 443, 'wlc', [('10.0.0.11', 443, 1, 0), ('10.0.0.12', 443, 1, 0)], 300)]


def status(services, seen):
    return _status.estate_status(_estate.virtual_services(services, HOSTVARS, GROUPS), seen, ['d1', 'd2'])


def kinds(result):
    return [(finding['kind'], finding['message']) for finding in result['findings']]


def test_kernels_as_declared_have_no_finding_and_show_each_server_per_director():
    result = status([WEB, API, SHOP], observed(as_declared(), as_declared()))
    assert result['findings'] == [] and result['drift'] == 0 and result['undeclared'] == []
    web = result['services'][0]
    assert web['vip_holders'] == ['d1']
    assert [row['host'] for row in web['servers']] == ['web1', 'web2']
    assert web['servers'][1]['kernel']['d2']['active_connections'] == 5
    assert web['servers'][1]['kernel']['d2']['rates']['connections'] == 2
    assert result['services'][2]['vip_holders'] == ['lb1']
    text = '\n'.join(_status.status_text(result))
    assert 'FINDINGS: none' in text
    assert 'web  tcp 10.0.0.100:80  dr, owner keepalived  VIP on d1' in text
    assert 'web2 10.0.0.12:80  1       1 / 5 / 1  2/s  1 / 5 / 1  2/s' in text


def test_a_server_keepalived_took_out_is_health_one_the_director_lost_is_drift():
    d2 = as_declared()
    d2[0]['servers'].pop(0)   # web1 out of web (keepalived)
    d2[1]['servers'].pop(1)   # web2 out of api (the director's)
    result = status([WEB, API], observed(as_declared(), d2))
    assert kinds(result) == [
        ('health', "d2: web1 on web: taken out by keepalived's health check"),
        ('drift', 'd2: web2 on api: missing from the kernel')]
    assert result['drift'] == 1
    assert result['services'][0]['servers'][0]['kernel'] == {'d1': result['services'][0]['servers'][0]['kernel']['d1'],
                                                             'd2': None}
    assert ' out' in '\n'.join(_status.status_text(result))


def test_settings_and_weights_changed_by_hand_are_drift_naming_both_values():
    d1 = as_declared()
    d1[0]['scheduler'] = 'wrr'
    d1[1]['servers'][0]['weight'] = 5
    result = status([WEB, API], observed(d1, as_declared()))
    assert kinds(result) == [
        ('drift', 'd1: web has scheduler wrr in the kernel, the estate says scheduler rr'),
        ('drift', 'd1: web1 on api: weight 5 in the kernel, the estate says weight 1')]


def test_services_and_servers_nobody_declared_and_a_drain_in_progress():
    d1 = as_declared() + [kernel_service('10.0.0.199', 8080, 'rr', [('10.0.0.50', 8080, 1, 0)])]
    d1[0]['servers'].append({'address': '10.0.0.13', 'port': 80, 'forwarding': 'dr', 'weight': 0,
                             'active_connections': 2, 'inactive_connections': 0, 'rates': RATES})
    d1[1]['servers'].append({'address': '10.0.0.14', 'port': 443, 'forwarding': 'dr', 'weight': 3,
                             'active_connections': 0, 'inactive_connections': 0, 'rates': RATES})
    result = status([WEB, API], observed(d1, as_declared()))
    assert kinds(result) == [
        ('drain', 'd1: 10.0.0.13:80 on web leaves, drained at weight 0 (2 active, 0 inactive connections)'),
        ('drift', 'd1: 10.0.0.14:443 on api is in the kernel (weight 3) and the estate does not list it'),
        ('drift', 'd1: tcp 10.0.0.199:8080 is in the kernel and no service of the estate declares it')]
    assert result['undeclared'] == [{'host': 'd1', 'service': 'tcp 10.0.0.199:8080', 'scheduler': 'rr',
                                     'servers': ['10.0.0.50:8080']}]
    text = '\n'.join(_status.status_text(result))
    assert 'IN A KERNEL, DECLARED BY NO SERVICE\n  d1               tcp 10.0.0.199:8080  rr, real servers: 10.0.0.50:8080' in text


def test_vips_held_by_nobody_or_by_two_hosts_and_hosts_that_could_not_be_read():
    seen = observed(as_declared(), None, d1_vips=('10.0.0.100',), lb_vips=())
    seen['d2'] = None
    seen['lb2']['addresses'] = addresses('192.168.0.4', '10.0.0.100')  # lo is ignored, eth0 counts
    result = status([WEB, API, SHOP], seen)
    assert kinds(result) == [
        ('unreachable', 'd2 could not be read'),
        ('vip', 'api: no host holds its VIP 10.0.0.101'),
        ('vip', 'shop: no host holds its VIP 10.0.0.102')]
    # lb2 holds web's VIP too, but it is not a director: web's holders are the directors that hold it
    assert result['services'][0]['vip_holders'] == ['d1']
    seen['d2'] = observed(as_declared(), as_declared(), d1_vips=())['d2']
    seen['d2']['addresses'] = addresses('10.0.0.100')
    assert ('vip', 'web: its VIP 10.0.0.100 is held by d1, d2 at once') in kinds(status([WEB], seen))


def test_a_service_declared_absent_must_be_gone_and_a_failed_read_is_reported():
    seen = observed(as_declared(), None)
    seen['d2']['ipvs_error'] = 'IPVS is not available'
    result = status([dict(WEB, state='absent'), API], seen)
    assert kinds(result) == [
        ('unreachable', 'd2: its IPVS table could not be read: IPVS is not available'),
        ('drift', 'd1: web is declared absent and still in the kernel')]


# haproxy 2.6's `show stat` (its first columns; the rest of each line cut)
SHOW_STAT = ('# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,'
             'status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,\n'
             '''shop,FRONTEND,,,3,9,4096,120,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,4,
shop,web1,0,0,2,5,,60,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,100,0,,1,2,1,,60,,2,3,
shop,web2,0,0,0,4,,58,0,0,,0,,0,0,0,0,%s,1,1,0,1,1,10,5,,1,2,2,,58,,2,0,
shop,BACKEND,0,0,2,9,410,118,0,0,0,0,,0,0,0,0,UP,2,2,0,,0,100,0,,1,2,0,,118,,1,3,
''')


def proxied(web2_status, lb2=None):
    seen = observed([], [])
    seen['lb1']['haproxy'] = SHOW_STAT % web2_status
    seen['lb2']['haproxy'] = SHOW_STAT % 'UP' if lb2 is None else lb2
    return seen


def test_haproxy_pools_show_each_server_per_proxy_and_what_its_checks_and_hands_did():
    shop = dict(SHOP, name='shop')
    result = status([shop], proxied('UP'))
    assert result['findings'] == []
    web1 = result['services'][0]['servers'][0]
    assert web1['kernel']['lb1'] == {'status': 'UP', 'weight': 1, 'sessions': 2, 'rate': 3}
    assert 'web1 10.0.0.11:80  1       UP 1 / 2  3/s  UP 1 / 2  3/s' in '\n'.join(_status.status_text(result))
    assert kinds(status([shop], proxied('DOWN'))) == [('health', "lb1: web2 in pool shop of shop: down by haproxy's health check")]
    assert kinds(status([shop], proxied('MAINT'))) == [('drift', 'lb1: web2 in pool shop of shop: in maintenance, set by hand')]
    assert kinds(status([shop], proxied('DRAIN'))) == [
        ('drift', 'lb1: web2 in pool shop of shop: drained by hand (the estate gives it weight 1)')]
    # a drained member at DRAIN is what the estate asks for
    hostvars = dict(HOSTVARS, web2=dict(HOSTVARS['web2'], lvs_overrides={'shop': {'state': 'drained'}}))
    assert _status.estate_status(_estate.virtual_services([shop], hostvars, GROUPS), proxied('DRAIN'),
                                 ['d1', 'd2'])['findings'] == []


def test_a_haproxy_that_does_not_answer_or_runs_another_pool_is_reported():
    shop = dict(SHOP, name='shop')
    extra = (SHOW_STAT % 'UP').replace('shop,web2,', 'shop,web9,')
    assert kinds(status([shop], proxied('UP', lb2=''))) == [
        ('unreachable', 'lb2: haproxy did not answer on its stats socket (is it running?)')]
    assert kinds(status([shop], proxied('UP', lb2=extra))) == [
        ('drift', "lb2: web2 in pool shop of shop: not in haproxy's pool"),
        ('drift', 'lb2: web9 is in pool shop of shop and the estate does not list it')]
