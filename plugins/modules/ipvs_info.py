#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ipvs_info
short_description: Read the IPVS table, with connection counts, counters and rates
version_added: 0.1.0
description:
  - Returns the IP Virtual Server services of the target's kernel with their settings and real servers (weights,
    forwarding methods, thresholds, tunnels, active, inactive and persistent connections, and the counters and rates
    that C(ipvsadm -Ln --stats) and C(ipvsadm -Ln --rate) show).
  - Read-only; reads over generic netlink (one session), never runs ipvsadm.
  - Give I(address) and I(port) (and I(protocol)), or I(fwmark) (and I(family)), to return only that service.
author:
  - lvs.cluster contributors (!UNKNOWN)
requirements:
  - Linux with IPVS (module C(ip_vs)); root (C(CAP_NET_ADMIN))
extends_documentation_fragment:
  - lvs.cluster.ipvs
attributes:
  check_mode:
    support: full
    description: Reads only, so it runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
  platform:
    support: full
    platforms: linux
    description: Linux only (generic netlink to the kernel's IPVS).
notes:
  - With a filter that matches no service, I(services) is an empty list; the module does not fail.
seealso:
  - module: lvs.cluster.ipvs_service
  - module: lvs.cluster.ipvs_server
'''

EXAMPLES = r'''
- name: Read the whole table
  lvs.cluster.ipvs_info:
  register: ipvs

- name: Show the active connections per real server of every service
  ansible.builtin.debug:
    msg: "{{ item.0.address }}:{{ item.0.port }} -> {{ item.1.address }}: {{ item.1.active_connections }}"
  loop: "{{ ipvs.services | subelements('servers') }}"

- name: Read one firewall-mark service
  lvs.cluster.ipvs_info:
    fwmark: 42
    family: ipv6
  register: fwm42
'''

RETURN = r'''
services:
  description:
    - The services, sorted as C(ipvsadm -Ln) would list them by key, each with its real servers.
    - C(stats) are the cumulative counters (ipvsadm C(--stats)), C(rates) the per-second rates (ipvsadm C(--rate)),
      for the service and for each real server.
  returned: always
  type: list
  elements: dict
  contains:
    family:
      description: C(ipv4) or C(ipv6).
      type: str
    protocol:
      description: C(tcp), C(udp) or C(sctp); C(null) for a firewall-mark service.
      type: str
    address:
      description: Virtual address; C(null) for a firewall-mark service.
      type: str
    port:
      description: Virtual port; C(null) for a firewall-mark service.
      type: int
    fwmark:
      description: Firewall mark, or C(null).
      type: int
    scheduler:
      description: Scheduler name.
      type: str
    persistence_timeout:
      description: Persistence timeout in seconds, C(null) when not persistent.
      type: int
    persistence_netmask:
      description: Persistence granularity as a prefix length (an IPv4 mask that is not contiguous as dotted text); C(null) when not persistent.
      type: raw
    persistence_engine:
      description: Persistence engine (C(sip)) or C(null).
      type: str
    one_packet:
      description: One-packet scheduling.
      type: bool
    sh_fallback:
      description: Scheduler flag (only with C(sh)).
      type: bool
    sh_port:
      description: Scheduler flag (only with C(sh)).
      type: bool
    mh_fallback:
      description: Scheduler flag (only with C(mh)).
      type: bool
    mh_port:
      description: Scheduler flag (only with C(mh)).
      type: bool
    other_flags:
      description: Scheduler flag bits that no option of this scheduler names (for example set with ipvsadm C(-b flag-3)).
      type: int
    flags:
      description: The raw flag word of the kernel, without its internal C(hashed) bit.
      type: int
    stats:
      description: Counters since the service was created or zeroed.
      type: dict
      contains:
        connections:
          description: Connections scheduled (Conns).
          type: int
        incoming_packets:
          description: Packets in (InPkts).
          type: int
        outgoing_packets:
          description: Packets out (OutPkts).
          type: int
        incoming_bytes:
          description: Bytes in (InBytes).
          type: int
        outgoing_bytes:
          description: Bytes out (OutBytes).
          type: int
    rates:
      description: Rates per second (CPS, InPPS, OutPPS, InBPS, OutBPS), with the same keys as I(stats).
      type: dict
    servers:
      description: The real servers.
      type: list
      elements: dict
      contains:
        address:
          description: Address of the real server.
          type: str
        port:
          description: Port of the real server.
          type: int
        family:
          description: Address family of the real server.
          type: str
        forwarding:
          description: C(nat), C(dr), C(tun), or C(local)/C(bypass) when set by other tools.
          type: str
        weight:
          description: Weight.
          type: int
        upper_threshold:
          description: Upper connection threshold, 0 for none.
          type: int
        lower_threshold:
          description: Lower connection threshold, 0 for the kernel's default.
          type: int
        tunnel_type:
          description: C(ipip), C(gue) or C(gre) for C(tun), else C(null).
          type: str
        tunnel_port:
          description: GUE port for C(tun), else C(null).
          type: int
        tunnel_checksum:
          description: C(nocsum), C(csum) or C(remcsum) for C(tun), else C(null).
          type: str
        active_connections:
          description: Active connections (ActiveConn).
          type: int
        inactive_connections:
          description: Inactive connections (InActConn).
          type: int
        persistent_connections:
          description: Persistence templates pointing at this server (PersistConn).
          type: int
        stats:
          description: Counters, as for the service.
          type: dict
        rates:
          description: Rates, as for the service.
          type: dict
  sample:
    - family: ipv4
      protocol: tcp
      address: 192.0.2.10
      port: 80
      fwmark: null
      scheduler: wlc
      persistence_timeout: 300
      persistence_netmask: 24
      persistence_engine: null
      one_packet: false
      sh_fallback: false
      sh_port: false
      mh_fallback: false
      mh_port: false
      other_flags: 0
      flags: 1
      stats: {connections: 12, incoming_packets: 80, outgoing_packets: 0, incoming_bytes: 5210, outgoing_bytes: 0}
      rates: {connections: 0, incoming_packets: 1, outgoing_packets: 0, incoming_bytes: 66, outgoing_bytes: 0}
      servers:
        - address: 10.0.0.11
          port: 80
          family: ipv4
          forwarding: dr
          weight: 1
          upper_threshold: 0
          lower_threshold: 0
          tunnel_type: null
          tunnel_port: null
          tunnel_checksum: null
          active_connections: 2
          inactive_connections: 1
          persistent_connections: 1
          stats: {connections: 12, incoming_packets: 80, outgoing_packets: 0, incoming_bytes: 5210, outgoing_bytes: 0}
          rates: {connections: 0, incoming_packets: 1, outgoing_packets: 0, incoming_bytes: 66, outgoing_bytes: 0}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_options as options
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_plan as plan
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_values as values


def main():
    module = AnsibleModule(
        argument_spec=options.service_identity_spec(),
        mutually_exclusive=options.SERVICE_IDENTITY_MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    try:
        identity = options.service_identity_from_params(module.params, required=False)
    except values.IpvsOptionError as error:
        module.fail_json(msg=str(error), option=error.option)

    from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs

    services = []
    try:
        with _ipvs.IpvsClient() as client:
            found = client.services()
            if identity is not None:
                found = [service for service in found
                         if values.service_key(service) == values.service_key(identity) and service['family'] == identity['family']]
            for service in sorted(found, key=values.sort_key):
                services.append(plan.public_service(service, client.servers(service)))
    except _ipvs.IpvsError as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=False, services=services)


if __name__ == '__main__':
    main()
