"""The filter plugins: one reader of host variables, an estate expanded once, refusals as filter errors."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.filter import estate, keepalived, nginx

GROUPS = {'all': ['d1', 'd2', 'web1', 'web2', 'p1'], 'directors': ['d1', 'd2'], 'web': ['web1', 'web2'],
          'proxies': ['p1']}
WEB = {'name': 'web', 'address': '10.0.0.100', 'port': 80, 'realservers': 'web', 'scheduler': 'rr', 'owner': 'keepalived'}
SHOP = {'name': 'shop', 'address': '10.0.0.101', 'port': 80, 'mode': 'proxy', 'owner': 'nginx', 'realservers': 'web',
        'proxies': 'proxies'}
SETTINGS = {'instances': [{'name': 'VI_1', 'virtual_router_id': 51, 'services': ['web']}]}


class CountingHostvars(dict):
    """Stands for Ansible's HostVars, which templates a host's variables on each access: counts the reads."""

    def __init__(self, *args):
        super(CountingHostvars, self).__init__(*args)
        self.reads = 0

    def __getitem__(self, host):
        self.reads += 1
        return dict.__getitem__(self, host)


def hostvars():
    return CountingHostvars({
        'd1': {'lvs_address': '10.0.0.2', 'unrelated': 'x'}, 'd2': {'lvs_address': '10.0.0.3'},
        'web1': {'lvs_address': '10.0.0.11'}, 'web2': {'lvs_address': '10.0.0.12', 'lvs_weight': 2},
        'p1': {'lvs_address': '10.0.0.21'},
    })


def test_an_expanded_estate_is_used_as_it_is():
    hvars = hostvars()
    expanded = estate.virtual_services([WEB, SHOP], hvars, GROUPS)
    assert hvars.reads == 5  # each host once
    again = estate.virtual_services(expanded, hvars, GROUPS)
    assert again is expanded and hvars.reads == 5


def test_a_mix_of_expanded_and_written_services_is_refused():
    expanded = estate.virtual_services([WEB], hostvars(), GROUPS)
    with pytest.raises(AnsibleFilterError, match='bad estate: lvs_virtual_services mixes expanded services'):
        estate.virtual_services(expanded + [SHOP], hostvars(), GROUPS)


def test_refusals_become_filter_errors_naming_the_variable():
    with pytest.raises(AnsibleFilterError, match=r"^bad estate: lvs_virtual_services\[web\]\.sh_port: only applies"):
        estate.virtual_services([dict(WEB, sh_port=True)], hostvars(), GROUPS)


def test_keepalived_plan_takes_the_expanded_estate():
    expanded = estate.virtual_services([WEB, SHOP], hostvars(), GROUPS)
    plan = keepalived.keepalived_plan(expanded, SETTINGS, hostvars(), GROUPS, 'd1')
    assert plan['services'] == ['web'] and plan['instances'][0]['unicast_peers'] == ['10.0.0.3']
    assert [vs['name'] for vs in plan['virtual_servers']] == ['web']
    with pytest.raises(AnsibleFilterError, match=r'^bad keepalived settings: keepalived_vrrp_instances\[VI_1\]\.unicast_peers is empty'):
        keepalived.keepalived_plan(expanded, {'instances': [dict(SETTINGS['instances'][0], unicast_peers=[])]},
                                   hostvars(), GROUPS, 'd1')


def test_nginx_plan_takes_the_expanded_estate_and_the_host():
    expanded = estate.virtual_services([WEB, SHOP], hostvars(), GROUPS)
    assert nginx.nginx_upstream_plan(expanded, 'p1', {})['services'] == ['shop']
    assert nginx.nginx_upstream_plan(expanded, 'd1', {})['services'] == []
