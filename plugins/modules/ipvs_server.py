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
    ones carry on; with I(drain_timeout) it then waits until their flows end (active connections, UDP flows and
    persistence templates, see I(drain_timeout)), and with I(remove_after_drain=true) removes them once drained,
    so a server leaves without anyone being cut off.
  - Bad combinations are refused before anything changes, among them a port different from the service's with
    I(forwarding=dr) or I(forwarding=tun), a weight out of range, a server address of another family than
    the service's, and a service that does not exist.
  - If the kernel still refuses a step, the steps this call already made are rolled back before the module fails.
author:
  - lvs.cluster contributors (!UNKNOWN)
requirements:
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
        fails the call, naming it (nothing is changed). See I(drain_timeout) and I(remove_after_drain).
      - With C(absent) or C(drained) an entry names a server by I(address) and I(port) only; any other setting in it
        is refused, naming the option (it would be ignored).
    type: str
    choices: [present, absent, drained]
    default: present
  drain_timeout:
    description:
      - With I(state=drained), seconds to wait until no listed server carries a flow.
      - What counts as a flow depends on the service. Active connections (the ActiveConn column of C(ipvsadm -Ln))
        always; TCP's inactive entries (TIME_WAIT and the like) do not.
        UDP has no connection state, so IPVS counts every UDP flow as inactive (InActConn). On a UDP service, and on a
        firewall-mark service (which may carry UDP), the inactive entries are waited for too. A UDP entry lasts until
        its flow has been quiet for the kernel's UDP timeout (C(ipvsadm --set), 300 s by default), so size
        I(drain_timeout) to it.
        On a persistent service a returning client is sent to the server its persistence template names, whatever
        that server's weight, so the templates (C(ipvsadm -Ln --persistent-conn)) are waited for too; they last
        I(persistence_timeout) after the client's last connection. When the kernel's
        C(net.ipv4.vs.expire_quiescent_template) is 1, it drops such a template when the client returns and sends the
        client elsewhere, so the templates are not waited for (the client loses its affinity to the leaving server,
        not its connections).
      - The first count is read 2 seconds (or I(drain_timeout), if shorter) after the weight went to 0, so that a
        connection that was being opened at that moment, which IPVS counts as inactive until the handshake ends,
        is waited for too.
      - C(0) does not wait, unless I(remove_after_drain=true), which then checks once, at once.
      - If flows remain when it runs out the module fails, naming the servers and their
        counts. Their weight stays 0 (so draining carries on and a rerun picks up where this one stopped)
        and, with I(remove_after_drain), none of them is removed.
    type: int
    default: 0
  remove_after_drain:
    description:
      - With I(state=drained), remove the listed servers once none of them carries a flow (see I(drain_timeout)).
      - All or nothing, to keep the service's capacity predictable.
    type: bool
    default: false
notes:
  - On a persistent service, clients with a persistence template are still sent to a server of weight 0 until the
    template expires; a drain waits for the templates unless the kernel's C(net.ipv4.vs.expire_quiescent_template)
    is 1 (see I(drain_timeout)).
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
    - C(initial_active_connections) is the first active count read after the weight went to 0; C(active_connections),
      C(inactive_connections) and C(persistent_connections) the last counts read (all C(null) when nothing waited).
    - C(waited_for) names the counters that had to reach 0 (see I(drain_timeout)); C(drained) whether they did;
      C(removed) whether the server was removed; C(waited_seconds) how long the module polled.
  returned: when state is drained
  type: list
  elements: dict
  sample: [{address: 10.0.0.12, port: 8080, initial_active_connections: 3, active_connections: 0, inactive_connections: 5,
            persistent_connections: 0, waited_for: [active_connections], drained: true, removed: true, waited_seconds: 12.5}]
diff:
  description: With C(--diff), the service's C(ipvsadm -Sn) lines before and after.
  returned: when diff mode is on
  type: dict
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvsadm as ipvsadm
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_options as options
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_plan as plan
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_values as values

DRAIN_POLL_SECONDS = 0.5
# A connection scheduled just before the weight went to 0 is still opening for a round trip (SYN_RECV, which
# IPVS counts as inactive): counting at once would miss it and remove its server under it.
DRAIN_SETTLE_SECONDS = 2.0
# Settings of a servers entry that only state present applies.
IGNORED_UNLESS_PRESENT = ('forwarding', 'weight', 'upper_threshold', 'lower_threshold', 'tunnel_type', 'tunnel_port',
                          'tunnel_checksum')


def argument_spec():
    spec = options.service_identity_spec()
    spec.update(
        servers=options.servers_spec(),
        state=dict(type='str', choices=list(values.SERVER_STATES), default='present'),
        drain_timeout=dict(type='int', default=0),
        remove_after_drain=dict(type='bool', default=False),
    )
    return spec


def validate(params):
    identity = options.service_identity_from_params(params)
    state = params['state']
    if params['drain_timeout'] < 0:
        raise values.IpvsOptionError('drain_timeout', '%d is negative; give the seconds to wait, or 0' % params['drain_timeout'])
    if state != 'drained':
        if params['drain_timeout']:
            raise values.IpvsOptionError('drain_timeout', 'only applies to state drained, not %s' % state)
        if params['remove_after_drain']:
            raise values.IpvsOptionError('remove_after_drain', 'only applies to state drained, not %s' % state)
    if not params['servers']:
        raise values.IpvsOptionError('servers', 'must list at least one real server')
    if state != 'present':
        # A drained or absent entry names a real server; settings given with it would be silently ignored.
        for index, entry in enumerate(params['servers']):
            for name in IGNORED_UNLESS_PRESENT:
                if entry.get(name) is not None:
                    raise values.IpvsOptionError('servers[%d].%s' % (index, name), 'is ignored by state %s, which %s; remove it'
                                                 % (state, 'sets only the weight to 0' if state == 'drained'
                                                    else 'removes the real server'))
    # The identity carries the service's family and port, so entries are checked before the kernel is asked.
    servers = options.servers_from_params(params['servers'], identity, 'present' if state == 'present' else 'absent')
    return identity, servers


QUIESCENT_TEMPLATE_SYSCTL = '/proc/sys/net/ipv4/vs/expire_quiescent_template'


def templates_expire_at_once(path=None):
    """Whether the kernel drops a persistence template that points at a weight-0 server when its client returns."""
    try:
        with open(path or QUIESCENT_TEMPLATE_SYSCTL) as handle:
            return handle.read().strip() not in ('', '0')
    except (IOError, OSError):
        return False


def flows_counted(service, templates_expire):
    """The connection counters of a server of service that a drain waits for, and why each is there.

    Active connections always. UDP has no connection state, so IPVS counts every UDP flow as inactive: a UDP
    service, and a firewall-mark service (which may carry UDP), wait for the inactive entries too, which
    last until the flow has been quiet for the kernel's UDP timeout (ipvsadm --set). On a persistent
    service a returning client is sent to its template's server whatever that server's weight, so the
    templates are waited for too, unless the kernel expires them when the client returns.
    """
    counted = ['active_connections']
    if service.get('protocol') == 'udp' or service.get('fwmark'):
        counted.append('inactive_connections')
    if service.get('persistence_timeout') and not templates_expire:
        counted.append('persistent_connections')
    return counted


FLOW_WORDS = {'active_connections': 'active', 'inactive_connections': 'inactive', 'persistent_connections': 'persistence templates'}


def describe_flows(server, counted):
    """'1 active' or '0 active, 2 inactive': the counts a drain waits for, as a readable list."""
    return ', '.join('%d %s' % (server.get(name) or 0, FLOW_WORDS[name]) for name in counted)


def wait_for_drain(client, service, keys, timeout, counted):
    """Poll the service's servers until none of keys has a counted flow, or timeout.

    Returns (servers at the first poll, servers at the last poll, seconds waited), servers by key.
    """
    started = time.time()
    first = None
    time.sleep(min(DRAIN_SETTLE_SECONDS, timeout))
    while True:
        current = dict((values.server_key(server), server) for server in client.servers(service, counters=False))
        if first is None:
            first = current
        waited = time.time() - started
        if not any(current[key].get(name) for key in keys if key in current for name in counted) or waited >= timeout:
            return first, current, round(waited, 1)
        time.sleep(min(DRAIN_POLL_SECONDS, max(timeout - waited, 0.01)))


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=options.SERVICE_IDENTITY_MUTUALLY_EXCLUSIVE,
        required_one_of=[('address', 'fwmark')],
        supports_check_mode=True,
    )
    params = module.params
    state = params['state']
    try:
        identity, desired = validate(params)
    except values.IpvsOptionError as error:
        module.fail_json(msg=str(error), option=error.option)

    from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs

    result = dict(changed=False, actions=[])
    changed_before_drain = False
    try:
        with _ipvs.IpvsClient() as client:
            service = client.find_service(identity)
            option = 'fwmark' if identity.get('fwmark') else 'address'
            if service is None:
                module.fail_json(msg='%s: the service %s does not exist; create it first (lvs.cluster.ipvs_service)'
                                 % (option, values.describe_service(identity)), option=option)
            actual_servers = client.servers(service, counters=False)
            if state == 'drained':
                present = set(values.server_key(item) for item in actual_servers)
                missing = [index for index, server in enumerate(desired) if values.server_key(server) not in present]
                if missing:
                    module.fail_json(msg='servers[%d]: %s is not a real server of %s, so it cannot be drained%s'
                                     % (missing[0], values.describe_server(service, desired[missing[0]]), values.describe_service(service),
                                        ' (nor %s)' % ', '.join(values.describe_server(service, desired[index]) for index in missing[1:])
                                        if len(missing) > 1 else ''),
                                     option='servers[%d]' % missing[0], **result)
            ops = plan.plan_servers(service, desired, actual_servers, state=state)
            after, after_servers = plan.apply_ops(service, actual_servers, ops)
            result['actions'] = [op['text'] for op in ops]
            if ops and not module.check_mode:
                client.apply(ops)
                changed_before_drain = True

            if state == 'drained':
                present_keys = [values.server_key(server) for server in desired
                                if values.server_key(server) in set(values.server_key(item) for item in actual_servers)]
                result['drain'], failure = drain(module, client, service, present_keys, params, result)
                if failure:
                    result['changed'] = changed_before_drain
                    module.fail_json(msg=failure, **result)
                after, after_servers = plan.apply_ops(after, after_servers, [
                    {'op': 'del_server', 'old': {'address': item['address'], 'port': item['port']}}
                    for item in result['drain'] if item['removed']])
            result['changed'] = bool(result['actions'])
            if not module.check_mode:
                after_servers = client.servers(service)
    except _ipvs.IpvsError as error:
        # Rolled back, so unchanged, unless weights were already drained or the rollback itself failed.
        result['changed'] = changed_before_drain or bool(getattr(error, 'rollback_failures', None))
        module.fail_json(msg=str(error), **result)

    result['service'] = plan.public_service(after, after_servers)
    if module._diff:
        result['diff'] = dict(before=ipvsadm.render_rules(service, actual_servers), after=ipvsadm.render_rules(after, after_servers))
    module.exit_json(**result)


def drain(module, client, service, keys, params, result):
    """Wait for the drained servers and remove them if asked; return (per-server outcome, failure message or None)."""
    timeout = params['drain_timeout']
    remove = params['remove_after_drain']
    counted = flows_counted(service, templates_expire_at_once())
    if module.check_mode or not keys:
        # Check mode does not wait: it reports the removal a real run would make once the servers are idle.
        outcome = [dict(address=key[0], port=key[1], initial_active_connections=None, active_connections=None,
                        inactive_connections=None, persistent_connections=None, waited_for=counted, drained=None,
                        removed=remove, waited_seconds=0) for key in keys]
        if remove:
            result['actions'].extend('remove drained server %s once idle' % values.format_endpoint(service['family'], *key) for key in keys)
        return outcome, None
    waits = bool(timeout or remove)
    first, current, waited = wait_for_drain(client, service, keys, timeout, counted) if waits else ({}, {}, 0)
    outcome = []
    busy = []
    for key in keys:
        last = current.get(key, {})
        flowing = sum(last.get(name) or 0 for name in counted)
        outcome.append(dict(address=key[0], port=key[1],
                            initial_active_connections=first.get(key, {}).get('active_connections'),
                            active_connections=last.get('active_connections'),
                            inactive_connections=last.get('inactive_connections'),
                            persistent_connections=last.get('persistent_connections'),
                            waited_for=counted, drained=(flowing == 0) if waits else None, removed=False, waited_seconds=waited))
        if waits and flowing:
            busy.append('%s (%s)' % (values.format_endpoint(service['family'], *key), describe_flows(last, counted)))
    if busy:
        return outcome, ('drain_timeout: after %ss these real servers still carry flows: %s. Their weight stays 0 '
                         'so they keep draining%s; rerun, or raise drain_timeout'
                         % (timeout, ', '.join(busy), '; none was removed' if remove else ''))
    if remove:
        # 'old' is the entry as the kernel reported it at the last poll, with every setting, so that a
        # rollback can re-add it as it was.
        ops = [{'op': 'del_server', 'service': service, 'old': current[key],
                'text': 'remove drained server %s' % values.format_endpoint(service['family'], *key)}
               for key in keys if key in current]
        client.apply(ops)
        result['actions'].extend(op['text'] for op in ops)
        for item in outcome:
            item['removed'] = (item['address'], item['port']) in current
    return outcome, None


if __name__ == '__main__':
    main()
