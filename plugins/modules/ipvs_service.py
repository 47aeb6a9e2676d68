#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ipvs_service
short_description: Manage an IPVS virtual service and, optionally, all its real servers
version_added: 0.1.0
description:
  - Creates, updates in place or removes one IP Virtual Server (LVS) service in the kernel of the target,
    identified by protocol, address and port, or by firewall mark and address family; IPv4 and IPv6.
  - A changed scheduler, persistence or flag is updated in place (C(IPVS_CMD_SET_SERVICE)), so connections,
    real servers and counters survive; a service is never deleted and re-added.
  - With I(servers) it converges the complete real-server list of the service in the same call and netlink session.
  - Talks generic netlink to the kernel directly (one session per call); it never runs ipvsadm.
  - Every option is validated before anything changes. If the kernel still refuses a step (for example a scheduler
    module that cannot be loaded), the steps this call already made are rolled back before the module fails.
author:
  - lvs.cluster contributors (!UNKNOWN)
requirements:
  - pyroute2 >= 0.7.2 on the target
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
    - C(null) when the service does not exist (after I(state=absent)).
    - Settings use the option names of this module; C(flags) is the raw flag word, C(other_flags) the scheduler flags
      that no option of this scheduler names. Counters (C(stats), C(rates)) come from the kernel's read-back and are
      absent in check mode for things not yet created.
  returned: always
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
diff:
  description: With C(--diff), the service's C(ipvsadm -Sn) lines before and after.
  returned: when diff mode is on
  type: dict
  sample:
    before: "-A -t 192.0.2.10:80 -s wlc\n-a -t 192.0.2.10:80 -r 10.0.0.11:80 -g -w 10\n"
    after: "-A -t 192.0.2.10:80 -s wrr\n-a -t 192.0.2.10:80 -r 10.0.0.11:80 -g -w 10\n"
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_model as model
from ansible_collections.lvs.cluster.plugins.module_utils._pyroute2 import require_pyroute2


def argument_spec():
    spec = model.service_identity_spec()
    spec.update(
        state=dict(type='str', choices=list(model.STATES), default='present'),
        scheduler=dict(type='str', choices=list(model.SCHEDULERS), default=model.DEFAULT_SCHEDULER),
        persistence_timeout=dict(type='int'),
        persistence_netmask=dict(type='raw'),
        persistence_engine=dict(type='str', choices=list(model.PERSISTENCE_ENGINES)),
        one_packet=dict(type='bool', default=False),
        sh_fallback=dict(type='bool', default=False),
        sh_port=dict(type='bool', default=False),
        mh_fallback=dict(type='bool', default=False),
        mh_port=dict(type='bool', default=False),
        servers=model.servers_spec(),
        purge_servers=dict(type='bool', default=False),
    )
    return spec


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=model.SERVICE_IDENTITY_MUTUALLY_EXCLUSIVE,
        required_one_of=[('address', 'fwmark')],
        required_if=[('purge_servers', True, ['servers'])],
        supports_check_mode=True,
    )
    params = module.params
    state = params['state']
    try:
        desired = model.service_from_params(params)
        if state == 'absent' and params['servers'] is not None:
            raise model.IpvsOptionError('servers', 'cannot be given with state absent: removing a service removes all its real servers')
        desired_servers = model.servers_from_params(params['servers'], desired)
    except model.IpvsOptionError as error:
        module.fail_json(msg=str(error), option=error.option)

    require_pyroute2(module)
    from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs

    result = dict(changed=False, actions=[])
    try:
        with _ipvs.IpvsClient() as client:
            actual = client.find_service(desired)
            actual_servers = client.servers(actual) if actual is not None else []
            ops = model.plan_service(desired, actual, state, desired_servers, actual_servers, params['purge_servers'])
            result['actions'] = [op['text'] for op in ops]
            result['changed'] = bool(ops)
            if ops and not module.check_mode:
                client.apply(ops)
                after = client.find_service(desired)
                after_servers = client.servers(after) if after is not None else []
            else:
                after, after_servers = model.apply_ops(actual, actual_servers, ops)
    except _ipvs.IpvsError as error:
        # A failed write was rolled back: unchanged, unless the rollback itself failed.
        result['changed'] = bool(getattr(error, 'rollback_failures', None))
        module.fail_json(msg=str(error), **result)

    result['service'] = model.public_service(after, after_servers)
    if module._diff:
        result['diff'] = dict(before=model.render_rules(actual, actual_servers), after=model.render_rules(after, after_servers))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
