#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ipvs_server
short_description: Manage real servers of an existing IPVS service, including draining them
version_added: 0.1.0
description:
  - Adds, updates, removes or drains real servers (destinations) of one existing IP Virtual Server service,
    a whole list of them in one call and one netlink session. Other real servers of the service are never touched.
  - I(state=drained) sets the weight of the listed servers to 0, so they take no new connections while existing
    ones carry on; with I(drain_timeout) it then waits until their active connections reach zero, and with
    I(remove_after_drain=true) removes them once drained, so a server leaves without anyone being cut off.
  - Bad combinations are refused before anything changes, among them a port different from the service's with
    I(forwarding=dr) or I(forwarding=tun), a weight out of range, a server address of another family than
    the service's, and a service that does not exist.
  - If the kernel still refuses a step, the steps this call already made are rolled back before the module fails.
author:
  - lvs.cluster contributors (!UNKNOWN)
requirements:
  - pyroute2 >= 0.7.2 on the target
  - Linux with IPVS (module C(ip_vs)); root (C(CAP_NET_ADMIN))
extends_documentation_fragment:
  - lvs.cluster.ipvs
  - lvs.cluster.ipvs.servers
attributes:
  check_mode:
    support: full
    description: Computes the changes and the diff and changes nothing; it does not wait for a drain.
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
      - C(present) adds the listed servers or updates their settings.
      - C(absent) removes them (existing connections to them are cut at once).
      - C(drained) sets their weight to 0 and keeps every other setting. A listed server that does not exist
        is not added. See I(drain_timeout) and I(remove_after_drain).
    type: str
    choices: [present, absent, drained]
    default: present
  drain_timeout:
    description:
      - With I(state=drained), seconds to wait until every listed server has no active connection
        (the ActiveConn column of C(ipvsadm -Ln)); inactive connections (for example TCP TIME_WAIT) do not count.
      - The first count is read 2 seconds (or I(drain_timeout), if shorter) after the weight went to 0, so that a
        connection that was being opened at that moment, which IPVS counts as inactive until the handshake ends,
        is waited for too.
      - C(0) does not wait, unless I(remove_after_drain=true), which then checks once, at once.
      - If active connections remain when it runs out the module fails, naming the servers and their
        connection counts. Their weight stays 0 (so draining carries on and a rerun picks up where this one stopped)
        and, with I(remove_after_drain), none of them is removed.
    type: int
    default: 0
  remove_after_drain:
    description:
      - With I(state=drained), remove the listed servers once none of them has an active connection.
      - All or nothing, to keep the service's capacity predictable.
    type: bool
    default: false
notes:
  - On a persistent service, clients with a persistence template may still be sent to a server of weight 0 until the
    template expires; the kernel's C(net.ipv4.vs.expire_quiescent_template) sysctl changes that.
seealso:
  - module: lvs.cluster.ipvs_service
  - module: lvs.cluster.ipvs_info
'''

EXAMPLES = r'''
- name: Two NAT real servers mapping port 80 to 8080
  lvs.cluster.ipvs_server:
    address: 192.0.2.10
    port: 80
    servers:
      - address: 10.0.0.11
        port: 8080
        forwarding: nat
        weight: 10
      - address: 10.0.0.12
        port: 8080
        forwarding: nat
        weight: 10
        upper_threshold: 1000
        lower_threshold: 800

- name: Drain a server, wait up to 5 minutes for its connections to finish, then remove it
  lvs.cluster.ipvs_server:
    address: 192.0.2.10
    port: 80
    servers:
      - address: 10.0.0.12
        port: 8080
    state: drained
    drain_timeout: 300
    remove_after_drain: true

- name: Real servers of an IPv4 firewall-mark service, GRE tunnelled
  lvs.cluster.ipvs_server:
    fwmark: 7
    servers:
      - address: 10.0.0.31
        forwarding: tun
        tunnel_type: gre
        tunnel_checksum: csum

- name: Remove a real server at once
  lvs.cluster.ipvs_server:
    protocol: udp
    address: "2001:db8::53"
    port: 53
    servers:
      - address: "2001:db8::101"
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
  sample: ["drain server 10.0.0.12:8080: weight 10 -> 0", "remove server 10.0.0.12:8080"]
service:
  description:
    - The service after the call (in check mode, as it would be) with all its real servers, in the form
      M(lvs.cluster.ipvs_service) returns.
  returned: always
  type: dict
  sample:
    family: ipv4
    protocol: tcp
    address: 192.0.2.10
    port: 80
    fwmark: null
    scheduler: wlc
    servers:
      - address: 10.0.0.11
        port: 8080
        forwarding: nat
        weight: 10
        active_connections: 4
        inactive_connections: 0
drain:
  description:
    - With I(state=drained), per listed server that existed, the outcome of draining.
    - C(initial_active_connections) is the first count read after the weight went to 0, C(active_connections) the last one
      (both C(null) when nothing waited); C(drained) whether it reached zero; C(removed) whether it was removed;
      C(waited_seconds) how long the module polled.
  returned: when state is drained
  type: list
  elements: dict
  sample: [{address: 10.0.0.12, port: 8080, initial_active_connections: 3, active_connections: 0, drained: true, removed: true, waited_seconds: 12.5}]
diff:
  description: With C(--diff), the service's C(ipvsadm -Sn) lines before and after.
  returned: when diff mode is on
  type: dict
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_model as model
from ansible_collections.lvs.cluster.plugins.module_utils._pyroute2 import require_pyroute2

DRAIN_POLL_SECONDS = 0.5
# A connection scheduled just before the weight went to 0 is still opening for a round trip (SYN_RECV, which
# IPVS counts as inactive): counting at once would miss it and remove its server under it.
DRAIN_SETTLE_SECONDS = 2.0


def argument_spec():
    spec = model.service_identity_spec()
    spec.update(
        servers=model.servers_spec(),
        state=dict(type='str', choices=list(model.SERVER_STATES), default='present'),
        drain_timeout=dict(type='int', default=0),
        remove_after_drain=dict(type='bool', default=False),
    )
    return spec


def validate(params):
    identity = model.service_identity_from_params(params)
    state = params['state']
    if params['drain_timeout'] < 0:
        raise model.IpvsOptionError('drain_timeout', '%d is negative; give the seconds to wait, or 0' % params['drain_timeout'])
    if state != 'drained':
        if params['drain_timeout']:
            raise model.IpvsOptionError('drain_timeout', 'only applies to state drained, not %s' % state)
        if params['remove_after_drain']:
            raise model.IpvsOptionError('remove_after_drain', 'only applies to state drained, not %s' % state)
    if not params['servers']:
        raise model.IpvsOptionError('servers', 'must list at least one real server')
    # The identity carries the service's family and port, so entries are checked before the kernel is asked.
    servers = model.servers_from_params(params['servers'], identity, 'present' if state == 'present' else 'absent')
    return identity, servers


def wait_for_drain(client, service, keys, timeout):
    """Poll the service's servers until none of keys has active connections, or timeout.

    Returns (counts at the first poll, counts at the last poll, seconds waited).
    """
    started = time.time()
    first = None
    time.sleep(min(DRAIN_SETTLE_SECONDS, timeout))
    while True:
        current = dict((model.server_key(server), server) for server in client.servers(service))
        counts = dict((key, current[key]['active_connections']) for key in keys if key in current)
        if first is None:
            first = counts
        waited = time.time() - started
        if not any(counts.values()) or waited >= timeout:
            return first, counts, round(waited, 1)
        time.sleep(min(DRAIN_POLL_SECONDS, max(timeout - waited, 0.01)))


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=model.SERVICE_IDENTITY_MUTUALLY_EXCLUSIVE,
        required_one_of=[('address', 'fwmark')],
        supports_check_mode=True,
    )
    params = module.params
    state = params['state']
    try:
        identity, desired = validate(params)
    except model.IpvsOptionError as error:
        module.fail_json(msg=str(error), option=error.option)

    require_pyroute2(module)
    from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs

    result = dict(changed=False, actions=[])
    changed_before_drain = False
    try:
        with _ipvs.IpvsClient() as client:
            service = client.find_service(identity)
            option = 'fwmark' if identity.get('fwmark') else 'address'
            if service is None:
                module.fail_json(msg='%s: the service %s does not exist; create it first (lvs.cluster.ipvs_service)'
                                 % (option, model.describe_service(identity)), option=option)
            actual_servers = client.servers(service)
            ops = model.plan_servers(service, desired, actual_servers, state=state)
            after, after_servers = model.apply_ops(service, actual_servers, ops)
            result['actions'] = [op['text'] for op in ops]
            if ops and not module.check_mode:
                client.apply(ops)
                changed_before_drain = True

            if state == 'drained':
                present_keys = [model.server_key(server) for server in desired
                                if model.server_key(server) in set(model.server_key(item) for item in actual_servers)]
                result['drain'], failure = drain(module, client, service, present_keys, params, result)
                if failure:
                    result['changed'] = changed_before_drain
                    module.fail_json(msg=failure, **result)
                after, after_servers = model.apply_ops(after, after_servers, [
                    {'op': 'del_server', 'old': {'address': item['address'], 'port': item['port']}}
                    for item in result['drain'] if item['removed']])
            result['changed'] = bool(result['actions'])
            if not module.check_mode:
                after_servers = client.servers(service)
    except _ipvs.IpvsError as error:
        # Rolled back, so unchanged, unless weights were already drained or the rollback itself failed.
        result['changed'] = changed_before_drain or bool(getattr(error, 'rollback_failures', None))
        module.fail_json(msg=str(error), **result)

    result['service'] = model.public_service(after, after_servers)
    if module._diff:
        result['diff'] = dict(before=model.render_rules(service, actual_servers), after=model.render_rules(after, after_servers))
    module.exit_json(**result)


def drain(module, client, service, keys, params, result):
    """Wait for the drained servers and remove them if asked; return (per-server outcome, failure message or None)."""
    timeout = params['drain_timeout']
    remove = params['remove_after_drain']
    if module.check_mode or not keys:
        # Check mode does not wait: it reports the removal a real run would make once the servers are idle.
        outcome = [dict(address=key[0], port=key[1], initial_active_connections=None, active_connections=None, drained=None,
                        removed=remove, waited_seconds=0) for key in keys]
        if remove:
            result['actions'].extend('remove drained server %s once idle' % model.format_endpoint(service['family'], *key) for key in keys)
        return outcome, None
    first, counts, waited = wait_for_drain(client, service, keys, timeout) if (timeout or remove) else ({}, {}, 0)
    outcome = []
    busy = []
    for key in keys:
        active = counts.get(key)
        idle = active == 0 if (timeout or remove) else None
        outcome.append(dict(address=key[0], port=key[1], initial_active_connections=first.get(key), active_connections=active,
                            drained=idle, removed=False, waited_seconds=waited))
        if active:
            busy.append('%s (%d active)' % (model.format_endpoint(service['family'], *key), active))
    if busy:
        return outcome, ('drain_timeout: after %ss these real servers still have active connections: %s. Their weight stays 0 '
                         'so they keep draining%s; rerun, or raise drain_timeout'
                         % (timeout, ', '.join(busy), '; none was removed' if remove else ''))
    if remove:
        ops = [{'op': 'del_server', 'service': service, 'old': {'address': key[0], 'port': key[1]},
                'text': 'remove drained server %s' % model.format_endpoint(service['family'], *key)}
               for key in keys if key in counts]
        client.apply(ops)
        result['actions'].extend(op['text'] for op in ops)
        for item in outcome:
            item['removed'] = (item['address'], item['port']) in counts
    return outcome, None


if __name__ == '__main__':
    main()
