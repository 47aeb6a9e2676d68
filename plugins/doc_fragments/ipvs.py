# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # How ipvs_service, ipvs_server and ipvs_info name one virtual service.
    DOCUMENTATION = r'''
options:
  protocol:
    description:
      - Transport protocol of a service identified by I(address) and I(port).
      - Defaults to C(tcp) when I(address) is set. Not allowed with I(fwmark).
    type: str
    choices: [tcp, udp, sctp]
  address:
    description:
      - Virtual IP address of the service, IPv4 or IPv6 (without brackets, prefix or port).
      - The service's address family follows from it.
      - Mutually exclusive with I(fwmark); one of the two names the service.
    type: str
  port:
    description:
      - Virtual port of the service, required with I(address).
      - C(0) means all ports and is only valid for a persistent service (I(persistence_timeout) in M(lvs.cluster.ipvs_service)).
    type: int
  fwmark:
    description:
      - Firewall mark (1 to 4294967295) of a firewall-mark service, as set by an iptables or nftables C(mark) rule.
      - Mutually exclusive with I(address), I(port) and I(protocol).
    type: int
  family:
    description:
      - Address family of a firewall-mark service. Defaults to C(ipv4) when I(fwmark) is set.
      - With I(address) it may be given but must match the address; without either it is an error.
    type: str
    choices: [ipv4, ipv6]
'''

    # The real-server list shared by ipvs_service and ipvs_server.
    SERVERS = r'''
options:
  servers:
    description:
      - Real servers of the service, one dict each, identified by I(address) and I(port).
      - In M(lvs.cluster.ipvs_service) this is the complete list of the service's real servers; unlisted ones are kept
        unless I(purge_servers=true). Omit it to leave the real servers alone.
      - In M(lvs.cluster.ipvs_server) these are the servers that I(state) applies to; other servers of the service are never touched.
      - With I(state=absent) or I(state=drained) (M(lvs.cluster.ipvs_server)) only I(address) and I(port) of an entry are used,
        and any other setting given in it is refused.
      - Every entry is validated against the service before anything changes; an entry is a complete declaration,
        so an omitted setting means its default, not "keep what the kernel has".
    type: list
    elements: dict
    suboptions:
      address:
        description:
          - IP address of the real server; must have the service's address family.
        type: str
        required: true
      port:
        description:
          - Port of the real server. Defaults to the service's port.
          - With I(forwarding=dr) or I(forwarding=tun) it must equal the service's port (those methods cannot map ports).
        type: int
      forwarding:
        description:
          - Packet forwarding method. C(nat) is masquerading (ipvsadm C(-m)), C(dr) direct routing (C(-g)),
            C(tun) IP-in-IP or other tunnelling (C(-i)).
          - Defaults to C(dr), as in ipvsadm.
        type: str
        choices: [nat, dr, tun]
      weight:
        description:
          - Scheduling weight, 0 to 2147483647 (the kernel's range). C(0) takes no new connections (quiesced).
          - Defaults to C(1).
        type: int
      upper_threshold:
        description:
          - Upper connection threshold; the server takes no new connections above it. C(0) (the default) means no limit.
        type: int
      lower_threshold:
        description:
          - Lower connection threshold at which an overloaded server takes connections again.
            C(0) (the default) means the kernel's own rule (three quarters of I(upper_threshold)).
          - Needs I(upper_threshold) and must not exceed it.
        type: int
      tunnel_type:
        description:
          - Encapsulation for I(forwarding=tun) (Linux 5.3 and later for C(gue) and C(gre)). Defaults to C(ipip) there.
          - Only with I(forwarding=tun).
        type: str
        choices: [ipip, gue, gre]
      tunnel_port:
        description:
          - Destination UDP port of the GUE receiver; required with I(tunnel_type=gue) and only allowed with it.
        type: int
      tunnel_checksum:
        description:
          - Checksum of the tunnel encapsulation (C(gue) and C(gre) only), one of C(nocsum), C(csum), or C(remcsum)
            (remote checksum offload, C(gue) only). Defaults to C(nocsum) for tunnels.
        type: str
        choices: [nocsum, csum, remcsum]
'''
