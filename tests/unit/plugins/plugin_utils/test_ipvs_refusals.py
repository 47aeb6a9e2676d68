"""What the IPVS modules (and the kernel through keepalived) would refuse is refused when the estate is
expanded, naming the exact option: site.yml's first plays then stop before any host changes."""

import pytest

from ansible_collections.lvs.cluster.plugins.plugin_utils import _estate, _ipvs_rules, _values

GROUPS = {'web': ['web1', 'web2']}
HOSTVARS = {'web1': {'lvs_address': '10.0.0.11'}, 'web2': {'lvs_address': '10.0.0.12'}}
WEB = {'name': 'web', 'address': '10.0.0.100', 'port': 80, 'realservers': 'web', 'scheduler': 'rr'}
UDP = dict(WEB, name='sip', protocol='udp', port=5060)


def expand(services, hostvars=None):
    return _estate.virtual_services(services, hostvars or HOSTVARS, GROUPS)


REFUSED = [
    # the exact start of each message: the option path, then the reason
    (dict(WEB, persistence_timeout=60, persistence_netmask='255.0.255.0'),
     "lvs_virtual_services[web].persistence_netmask: '255.0.255.0' is not a contiguous IPv4 netmask"),
    (dict(WEB, persistence_timeout=60, persistence_netmask=33),
     'lvs_virtual_services[web].persistence_netmask: 33 is out of range'),
    (dict(WEB, persistence_netmask=24), 'lvs_virtual_services[web].persistence_netmask: needs persistence_timeout'),
    (dict(WEB, sh_port=True), 'lvs_virtual_services[web].sh_port: only applies to scheduler sh, not rr'),
    (dict(WEB, scheduler='sh', mh_fallback=True), 'lvs_virtual_services[web].mh_fallback: only applies to scheduler mh'),
    (dict(WEB, one_packet=True), 'lvs_virtual_services[web].one_packet: one-packet scheduling is for UDP'),
    (dict(WEB, persistence_timeout=60, persistence_engine='sip'),
     'lvs_virtual_services[web].persistence_engine: sip works on UDP'),
    (dict(UDP, persistence_engine='sip'), 'lvs_virtual_services[sip].persistence_engine: needs persistence_timeout'),
    (dict(WEB, persistence_timeout=5000000), 'lvs_virtual_services[web].persistence_timeout is 5000000'),
    (dict(WEB, upper_threshold=5, lower_threshold=9),
     'lvs_virtual_services[web].lower_threshold 9 is above upper_threshold 5'),
    (dict(WEB, lower_threshold=9), 'lvs_virtual_services[web].lower_threshold needs upper_threshold'),
    (dict(WEB, sh_port='yes'), "lvs_virtual_services[web].sh_port must be true or false, not 'yes'"),
    (dict(WEB, mode='tun', tunnel_type='gue'), 'lvs_virtual_services[web].tunnel_port is required for tunnel_type gue'),
    (dict(WEB, mode='tun', tunnel_type='gre', tunnel_port=6080), 'lvs_virtual_services[web].tunnel_port is only for'),
]


@pytest.mark.parametrize('service, message', REFUSED)
@pytest.mark.parametrize('owner', ['director', 'keepalived'])
def test_module_refusals_are_estate_refusals_whoever_programs_ipvs(service, message, owner):
    with pytest.raises(_values.PlanError) as caught:
        expand([dict(service, owner=owner)])
    assert str(caught.value).startswith(message)


def test_a_hosts_thresholds_are_held_to_the_modules_rule_naming_its_override():
    hostvars = dict(HOSTVARS, web2={'lvs_address': '10.0.0.12', 'lvs_overrides': {'web': {'lower_threshold': 9}}})
    with pytest.raises(_values.PlanError) as caught:
        expand([dict(WEB, upper_threshold=5)], hostvars)
    assert str(caught.value).startswith('host web2: lvs_overrides.web.lower_threshold: 9 is above upper_threshold 5')


def test_a_valid_netmask_is_kept_as_a_prefix_length_and_rendered_as_ipvsadm_does():
    for given in (24, '24', '255.255.255.0', '/24'):
        svc, = expand([dict(WEB, persistence_timeout=60, persistence_netmask=given)])
        assert svc['persistence_netmask'] == 24
        assert _ipvs_rules.ipvsadm_rules([svc])[0] == '-A -t 10.0.0.100:80 -s rr -p 60 -M 255.255.255.0'


def test_the_boot_rules_are_what_the_module_is_given():
    # the rules file and the module's arguments come from one place: ipvs_entries over ipvs_service_args
    svc, = expand([dict(WEB, persistence_timeout=60)], dict(HOSTVARS, web2={'lvs_address': '10.0.0.12', 'lvs_weight': 0}))
    args = _ipvs_rules.ipvs_service_args(svc)
    assert [(s['address'], s['weight']) for s in args['servers']] == [('10.0.0.11', 1), ('10.0.0.12', 0)]
    assert _ipvs_rules.ipvsadm_rules([svc]) == ['-A -t 10.0.0.100:80 -s rr -p 60',
                                                '-a -t 10.0.0.100:80 -r 10.0.0.11:80 -g -w 1',
                                                '-a -t 10.0.0.100:80 -r 10.0.0.12:80 -g -w 0']
