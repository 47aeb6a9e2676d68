#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ipvs_service
short_description: Manage IPVS virtual services and, optionally, all their real servers
version_added: 0.1.0
description:
  - Creates, updates in place or removes one IP Virtual Server (LVS) service in the kernel of the target,
    identified by protocol, address and port, or by firewall mark and address family; IPv4 and IPv6.
  - A changed scheduler, persistence or flag is updated in place (C(IPVS_CMD_SET_SERVICE)), so connections,
    real servers and counters survive; a service is never deleted and re-added.
  - With I(servers) it converges the complete real-server list of the service in the same call and netlink session.
  - With I(services) it converges a list of services (a director's whole table) in one call, one netlink session and
    one batch of changes (one module run instead of one per service).
  - Talks generic netlink to the kernel directly (one session per call, many requests per send); it never runs ipvsadm
    and needs no Python library beyond the standard one.
  - Every option is validated before anything changes. If the kernel still refuses a step (for example a scheduler
    module that cannot be loaded), the steps this call already made are rolled back before the module fails.
author:
  - lvs.cluster contributors (!UNKNOWN)
requirements:
  - Linux with IPVS (module C(ip_vs), plus C(ip_vs_<scheduler>) and C(ip_vs_pe_sip) as used); root (C(CAP_NET_ADMIN))
extends_documentation_fragment:
  - lvs.cluster.ipvs
  - lvs.cluster.ipvs.servers
attributes:
  check_mode:
    support: full
    description: Computes the changes and the diff from the kernel's table and changes nothing.
  diff_mode:
    support: full
    description: The service and its real servers before and after, as C(ipvsadm -Sn) lines.
  platform:
    support: full
    platforms: linux
    description: Linux only (generic netlink to the kernel's IPVS).
options:
  state:
    description:
      - C(present) creates or updates the service; C(absent) removes it together with its real servers.
    type: str
    choices: [present, absent]
    default: present
  scheduler:
    description:
      - Scheduling algorithm. Each needs its kernel module C(ip_vs_<name>), which the kernel loads on demand where it can.
      - C(rr) round robin, C(wrr) weighted round robin, C(lc) least connection, C(wlc) weighted least connection,
        C(lblc) locality-based least connection, C(lblcr) the same with replication, C(dh) destination hashing,
        C(sh) source hashing, C(sed) shortest expected delay, C(nq) never queue, C(mh) maglev hashing,
        C(fo) weighted failover, C(ovf) weighted overflow, C(twos) weighted random twos choice.
    type: str
    choices: [rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf, twos]
    default: wlc
  persistence_timeout:
    description:
      - Makes the service persistent (ipvsadm C(-p)); connections of one client go to the same real server
        for this many seconds after its last connection ended.
      - Omit it for a non-persistent service; a persistent service without it becomes non-persistent.
    type: int
  persistence_netmask:
    description:
      - Granularity of persistence (ipvsadm C(-M)); clients within this prefix share one real server.
      - A prefix length (C(24)), or for IPv4 also a dotted mask (C(255.255.255.0)). Defaults to one address
        (C(32) or C(128)). Needs I(persistence_timeout). Returned as a prefix length.
    type: raw
  persistence_engine:
    description:
      - Persistence engine (ipvsadm C(--pe)); C(sip) keys persistence on the SIP Call-ID (kernel module C(ip_vs_pe_sip)).
      - Needs I(persistence_timeout); only for UDP or firewall-mark services.
    type: str
    choices: [sip]
  one_packet:
    description:
      - One-packet scheduling (ipvsadm C(-o)), each UDP datagram is scheduled on its own. UDP or firewall-mark services only.
    type: bool
    default: false
  sh_fallback:
    description: With I(scheduler=sh), pick another real server when the hashed one is unavailable (ipvsadm C(-b sh-fallback)).
    type: bool
    default: false
  sh_port:
    description: With I(scheduler=sh), hash the source port as well as the source address (ipvsadm C(-b sh-port)).
    type: bool
    default: false
  mh_fallback:
    description: With I(scheduler=mh), pick another real server when the hashed one is unavailable (ipvsadm C(-b mh-fallback)).
    type: bool
    default: false
  mh_port:
    description: With I(scheduler=mh), hash the source port as well as the source address (ipvsadm C(-b mh-port)).
    type: bool
    default: false
  purge_servers:
    description:
      - Remove the real servers of this service that I(servers) does not list.
      - Scoped to this one service; no other service is ever touched. Needs I(servers).
    type: bool
    default: false
  services:
    description:
      - Several services converged in one call, each entry a dict of the options above that describe one service
        (I(protocol), I(address), I(port), I(fwmark), I(family), I(state), I(scheduler), the persistence options,
        the flags, I(servers) and I(purge_servers)), with the same defaults.
      - When given, those options may not also be given beside it.
      - Every entry is validated, and listing one service twice is refused, before anything changes. All the changes
        are applied as one batch; if the kernel refuses one, the whole batch is rolled back.
      - Services that the list does not name are never touched (this is not a purge of the table).
      - Error messages name the entry, for example C(services[3].servers[0].port).
    type: list
    elements: dict
notes:
  - Real servers of a fwmark service have no port of their own unless I(forwarding=nat); their port defaults to C(0).
  - The kernel sees only its own network namespace; run the module where the director's IPVS table lives.
seealso:
  - module: lvs.cluster.ipvs_server
  - module: lvs.cluster.ipvs_info
'''

EXAMPLES = r'''
- name: A weighted round-robin web service with its complete real-server list
  lvs.cluster.ipvs_service:
    address: 192.0.2.10
    port: 80
    scheduler: wrr
    servers:
      - address: 10.0.0.11
        weight: 10
      - address: 10.0.0.12
        weight: 5
    purge_servers: true

- name: Persistent HTTPS for a /24 of clients, NAT to port 8443
  lvs.cluster.ipvs_service:
    protocol: tcp
    address: 192.0.2.10
    port: 443
    scheduler: wlc
    persistence_timeout: 600
    persistence_netmask: 24
    servers:
      - address: 10.0.0.11
        port: 8443
        forwarding: nat

- name: Source hashing with fallback on an IPv6 UDP service
  lvs.cluster.ipvs_service:
    protocol: udp
    address: "2001:db8::53"
    port: 53
    scheduler: sh
    sh_fallback: true
    sh_port: true
    one_packet: true

- name: SIP persistence on UDP
  lvs.cluster.ipvs_service:
    protocol: udp
    address: 192.0.2.20
    port: 5060
    scheduler: rr
    persistence_timeout: 120
    persistence_engine: sip

- name: An IPv6 firewall-mark service, real servers tunnelled with GUE
  lvs.cluster.ipvs_service:
    fwmark: 42
    family: ipv6
    scheduler: mh
    mh_port: true
    servers:
      - address: "2001:db8::21"
        forwarding: tun
        tunnel_type: gue
        tunnel_port: 6080

- name: Remove a service and its real servers
  lvs.cluster.ipvs_service:
    address: 192.0.2.10
    port: 80
    state: absent

- name: A director's whole table in one call (one module run, one netlink session)
  lvs.cluster.ipvs_service:
    services:
      - address: 192.0.2.10
        port: 80
        scheduler: rr
        servers: [{address: 10.0.0.11}, {address: 10.0.0.12}]
        purge_servers: true
      - address: 192.0.2.10
        port: 443
        scheduler: sh
        persistence_timeout: 300
        servers: [{address: 10.0.0.11}, {address: 10.0.0.12}]
        purge_servers: true
      - address: 192.0.2.99
        port: 80
        state: absent
'''

RETURN = r'''
changed:
  description: Whether the kernel's table was (or in check mode would be) changed.
  returned: always
  type: bool
actions:
  description: What was (or in check mode would be) done, in order, one readable line each.
  returned: always
  type: list
  elements: str
  sample: ["update service TCP 192.0.2.10:80 in place: scheduler wlc -> wrr", "add server 10.0.0.12:80"]
service:
  description:
    - The service as it is after the call (in check mode, as it would be), with its real servers.
    - Returned when the call names one service (not with I(services)).
    - C(null) when the service does not exist (after I(state=absent)).
    - Settings use the option names of this module; C(flags) is the raw flag word, C(other_flags) the scheduler flags
      that no option of this scheduler names. Counters (C(stats), C(rates)) come from the kernel's read-back and are
      absent in check mode for things not yet created.
  returned: without I(services)
  type: dict
  sample:
    family: ipv4
    protocol: tcp
    address: 192.0.2.10
    port: 80
    fwmark: null
    scheduler: wrr
    persistence_timeout: null
    persistence_netmask: null
    persistence_engine: null
    one_packet: false
    sh_fallback: false
    sh_port: false
    mh_fallback: false
    mh_port: false
    other_flags: 0
    flags: 0
    stats: {connections: 0, incoming_packets: 0, outgoing_packets: 0, incoming_bytes: 0, outgoing_bytes: 0}
    rates: {connections: 0, incoming_packets: 0, outgoing_packets: 0, incoming_bytes: 0, outgoing_bytes: 0}
    servers:
      - family: ipv4
        address: 10.0.0.11
        port: 80
        forwarding: dr
        weight: 10
        upper_threshold: 0
        lower_threshold: 0
        tunnel_type: null
        tunnel_port: null
        tunnel_checksum: null
        active_connections: 3
        inactive_connections: 12
        persistent_connections: 0
services:
  description:
    - With I(services), each listed service as it is after the call, in the order of the list; each entry is like
      I(service) (C(null) for a service that does not exist after I(state=absent)).
    - Only the services this call changed carry counters (C(stats), C(rates), for the service and its real servers);
      a table of thousands of entries that did not change is returned without them. M(lvs.cluster.ipvs_info) reads them all.
  returned: with I(services)
  type: list
  elements: dict
  sample:
    - {family: ipv4, protocol: tcp, address: 192.0.2.10, port: 80, scheduler: rr, servers: []}
diff:
  description: With C(--diff), the C(ipvsadm -Sn) lines of the service (or the listed services) before and after.
  returned: when diff mode is on
  type: dict
  sample:
    before: "-A -t 192.0.2.10:80 -s wlc\n-a -t 192.0.2.10:80 -r 10.0.0.11:80 -g -w 10\n"
    after: "-A -t 192.0.2.10:80 -s wrr\n-a -t 192.0.2.10:80 -r 10.0.0.11:80 -g -w 10\n"
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvsadm as ipvsadm
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_options as options
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_plan as plan
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_values as values


# The options that describe one service: top-level for one service, or each entry of services.
SERVICE_OPTIONS = ('protocol', 'address', 'port', 'fwmark', 'family', 'state', 'scheduler', 'persistence_timeout',
                   'persistence_netmask', 'persistence_engine', 'one_packet', 'sh_fallback', 'sh_port', 'mh_fallback',
                   'mh_port', 'servers', 'purge_servers')


def service_spec():
    spec = options.service_identity_spec()
    spec.update(
        state=dict(type='str', choices=list(values.STATES), default='present'),
        scheduler=dict(type='str', choices=list(values.SCHEDULERS), default=values.DEFAULT_SCHEDULER),
        persistence_timeout=dict(type='int'),
        persistence_netmask=dict(type='raw'),
        persistence_engine=dict(type='str', choices=list(values.PERSISTENCE_ENGINES)),
        one_packet=dict(type='bool', default=False),
        sh_fallback=dict(type='bool', default=False),
        sh_port=dict(type='bool', default=False),
        mh_fallback=dict(type='bool', default=False),
        mh_port=dict(type='bool', default=False),
        servers=options.servers_spec(),
        purge_servers=dict(type='bool', default=False),
    )
    return spec


def argument_spec():
    spec = service_spec()
    # Entries are validated against service_spec() by desired_list(), so that their options are documented
    # once (as the top-level ones) and every error names its entry.
    spec['services'] = dict(type='list', elements='dict')
    return spec


ENTRY_SPEC = service_spec()
ENTRY_VALIDATOR = ArgumentSpecValidator(ENTRY_SPEC)
SERVER_SPEC = ENTRY_SPEC['servers']['options']
PYTHON_TYPES = {'str': str, 'int': int, 'bool': bool}


def _typed(spec, value):
    """Whether value already is what the validator would make of it (type, choices), so it can be kept as is."""
    kind = PYTHON_TYPES.get(spec['type'])
    if kind is not None and (type(value) is not kind):  # pylint: disable=unidiomatic-typecheck
        return False  # bool is not int here: the validator turns a str or a bool into an int, or refuses it
    return 'choices' not in spec or value in spec['choices']


def typed_entry(entry):
    """The entry completed like the validator would (defaults, every suboption), when it needs no conversion.

    Returns None when any key or value needs the validator (conversion, or an error to word). The validator
    costs about 5 ms of CPU per entry with its real servers (natively; several times that on a small target),
    which for a table of 1,000 services was more than all the netlink work; entries written in YAML or built by
    the director role's filters are already typed, and take this path.
    """
    if not isinstance(entry, dict):
        return None
    params = {}
    for name, spec in ENTRY_SPEC.items():
        value = entry.get(name)
        if value is None:
            params[name] = spec.get('default')
        elif name == 'servers':
            if not isinstance(value, list):
                return None
            servers = []
            for server in value:
                if not isinstance(server, dict) or server.get('address') is None or any(key not in SERVER_SPEC for key in server):
                    return None
                for key, item in server.items():
                    if item is not None and not _typed(SERVER_SPEC[key], item):
                        return None
                servers.append(dict((key, server.get(key)) for key in SERVER_SPEC))
            params[name] = servers
        elif spec['type'] == 'raw' or _typed(spec, value):
            params[name] = value
        else:
            return None
    if any(name not in ENTRY_SPEC for name in entry):
        return None
    return params


def entry_params(entry, option):
    """One services entry checked, typed and completed with defaults like top-level options."""
    params = typed_entry(entry)
    if params is not None:
        return params
    validated = ENTRY_VALIDATOR.validate(entry)
    if validated.error_messages:
        raise values.IpvsOptionError(option, '; '.join(validated.error_messages))
    return validated.validated_parameters


def desired_from_params(params, option=None):
    """Validate one service's options; return (desired service, desired servers, state, purge).

    option is the name of the list entry (services[3]) that the options come from, prefixed to every error.
    """
    try:
        if params['address'] is None and params['fwmark'] is None:
            raise values.IpvsOptionError('address', 'one of address (with port) or fwmark is required to identify the service')
        if params['purge_servers'] and params['servers'] is None:
            raise values.IpvsOptionError('purge_servers', 'needs servers: it removes the real servers that servers does not list')
        desired = options.service_from_params(params)
        if params['state'] == 'absent' and params['servers'] is not None:
            raise values.IpvsOptionError('servers', 'cannot be given with state absent: removing a service removes all its real servers')
        desired_servers = options.servers_from_params(params['servers'], desired)
    except values.IpvsOptionError as error:
        if option is None:
            raise
        raise values.IpvsOptionError('%s.%s' % (option, error.option), error.reason)
    return desired, desired_servers, params['state'], params['purge_servers']


def desired_list(params):
    """Every service this call converges, validated and checked for duplicates before anything changes."""
    if params['services'] is None:
        return [desired_from_params(params)]
    given = [name for name in SERVICE_OPTIONS if params[name] not in (None, False, [])
             and not (name == 'state' and params[name] == 'present')
             and not (name == 'scheduler' and params[name] == values.DEFAULT_SCHEDULER)]
    if given:
        raise values.IpvsOptionError('services', 'describes every service of this call; give %s inside its entries, '
                                     'not beside services' % ', '.join(given))
    result, seen = [], {}
    for index, entry in enumerate(params['services']):
        option = 'services[%d]' % index
        item = desired_from_params(entry_params(entry, option), option)
        key = values.service_key(item[0])
        if key in seen:
            raise values.IpvsOptionError('services[%d]' % index, 'names the same service as services[%d] (%s)'
                                         % (seen[key], values.describe_service(item[0])))
        seen[key] = index
        result.append(item)
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    try:
        wanted = desired_list(params)
    except values.IpvsOptionError as error:
        module.fail_json(msg=str(error), option=error.option)

    from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs

    single = params['services'] is None
    result = dict(changed=False, actions=[])
    befores, afters = [], []
    try:
        with _ipvs.IpvsClient() as client:
            # Plan every service first, then apply all the operations as one batch: a refusal rolls back
            # the whole call, so a list of services is never left half-applied. Counters are read only where
            # they are returned: for one service, and for the services of a list that this call changes.
            plans, all_ops = [], []
            actuals = client.find_services([desired for desired, _servers, _state, _purge in wanted], counters=single)
            for (desired, desired_servers, state, purge), actual in zip(wanted, actuals):
                actual_servers = client.servers(actual, counters=single) if actual is not None else []
                ops = plan.plan_service(desired, actual, state, desired_servers, actual_servers, purge)
                plans.append((desired, actual, actual_servers, ops))
                all_ops.extend(ops)
            result['actions'] = [op['text'] for op in all_ops]
            result['changed'] = bool(all_ops)
            if all_ops and not module.check_mode:
                client.apply(all_ops)
            changed = [desired for desired, _actual, _servers, ops in plans if ops and not module.check_mode]
            read_back = iter(client.find_services(changed) if changed else [])
            for desired, actual, actual_servers, ops in plans:
                if ops and not module.check_mode:
                    after = next(read_back)
                    after_servers = client.servers(after) if after is not None else []
                else:
                    after, after_servers = plan.apply_ops(actual, actual_servers, ops)
                befores.append((actual, actual_servers))
                afters.append((after, after_servers))
    except _ipvs.IpvsError as error:
        # A failed write was rolled back: unchanged, unless the rollback itself failed.
        result['changed'] = bool(getattr(error, 'rollback_failures', None))
        module.fail_json(msg=str(error), **result)

    public = [plan.public_service(after, after_servers) for after, after_servers in afters]
    if single:
        result['service'] = public[0]
    else:
        result['services'] = public
    if module._diff:
        result['diff'] = dict(before=''.join(ipvsadm.render_rules(*pair) for pair in befores),
                              after=''.join(ipvsadm.render_rules(*pair) for pair in afters))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
