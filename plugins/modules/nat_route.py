#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: nat_route
short_description: Route an LVS-NAT real server's replies back through the director
version_added: 0.1.0
description:
  - In LVS-NAT the director rewrites the destination of client packets to a real server, and must see the replies to
    rewrite their source back. This module gives the real server a route to the clients via the director's inside
    address (O(gateway)), by default the default route, or routes to the client prefixes in O(destinations).
  - Sets the routes now over netlink (pyroute2; C(ip) is not run), replacing a route of the main table to the same
    destination with the same metric, as C(ip route replace) does, and makes them persistent (systemd-networkd
    C([Route]) drop-ins, NetworkManager dispatcher scripts, or ifupdown C(up) lines, see O(persistence)).
  - O(state=absent) removes the routes and their persistence, and puts back the route the host's own configuration
    gives for each destination (see O(restore)).
options:
  gateway:
    description:
      - The director's inside address, IPv4 or IPv6, without a prefix. It must be in a subnet connected to O(device)
        (or to some device when O(device) is not given), and must not be an address of this host.
      - An IPv6 link-local gateway needs O(device) when several devices have C(fe80::/64).
    type: str
    required: true
  destinations:
    description:
      - V(default) (C(0.0.0.0/0) or C(::/0), by the family of O(gateway)), or client prefixes such as C(10.97.200.0/24).
        An address without a prefix is a host route.
      - Every destination must have the family of O(gateway), host bits must be zero, and a destination must not hold
        the gateway itself (except V(default)).
    type: list
    elements: str
    default: [default]
    aliases: [destination]
  device:
    description:
      - The device to reach the gateway on. By default the device whose connected subnet holds O(gateway) (the longest
        prefix wins); the task fails when no device, or more than one with the same prefix, has such a subnet.
      - When given, it must exist and have a connected subnet holding O(gateway). C(lo) is refused.
    type: str
  metric:
    description:
      - The metric (priority) of the routes. A route is identified by destination and metric, so routes with other
        metrics to the same destination stay; the lowest metric wins.
      - Default the kernel's, C(0) for IPv4 and C(1024) for IPv6; the persistence files then set none either.
    type: int
  state:
    description:
      - V(present) sets the routes and persists them; V(absent) removes both and restores (see O(restore)).
      - With V(absent) a route goes only when it goes via O(gateway) (and O(device), when given or derived); a route to
        the destination through another router is left alone.
    type: str
    choices: [present, absent]
    default: present
  restore:
    description:
      - With O(state=absent), when the call removed something, put back what the host's own configuration gives for
        each destination (the route this module replaced, typically the default route).
      - systemd-networkd (when running) - after C(networkctl reload), C(networkctl reconfigure) every link networkd
        manages whose C(.network) file (with its drop-ins, ours aside) gives a route to the destination - a C([Route])
        with that C(Destination=), and for the default route also C([Network] Gateway=), C(DHCP=) of that family, or
        C(IPv6AcceptRA=yes) for IPv6.
      - ifupdown (when in use) - for the default route, the C(gateway) (and C(metric)) lines of the host's
        C(iface <device> inet|inet6 static) stanzas are set again over netlink, as ifupdown's static method sets them.
        When that route has the destination and metric of the one removed, it replaces it in one call, so the
        destination is never without a route; otherwise it is set before ours goes. Routes that ifupdown gets from
        DHCP or from C(up) commands of the host come back only with C(ifdown)/C(ifup) or a reboot (a warning says so
        when nothing could be restored).
      - A restore that fails (C(networkctl reconfigure) or the route refused) fails the task and rolls everything back,
        our route included, rather than leave the host without the route while reporting success.
    type: bool
    default: true
extends_documentation_fragment:
  - lvs.cluster.persistence
attributes:
  check_mode:
    support: full
    description: Reports what would change, including what would be restored; touches neither routes nor files.
  diff_mode:
    support: full
    description: The main table's routes to the destinations, and every persistence file written or removed.
  platform:
    support: full
    platforms: linux
    description: Linux only (rtnetlink).
notes:
  - "O(persistence=networkd) writes one drop-in per route,
    C(/etc/systemd/network/<file>.network.d/lvs-nat-route-<destination>-m<metric>.conf) (destination C(default4),
    C(default6) or C(<address>-<prefix>) with C(:) as C(-)), with a C([Route]) section (C(Destination=), C(Gateway=), and
    C(Metric=) when O(metric) is given). C(<file>) is the C(.network) file networkd uses for the device, found and checked
    as M(lvs.cluster.director_vip) does: it must match the device alone, and the task fails when no C(.network) file
    names the device. A drop-in for the same destination and metric on another device's file is removed."
  - "O(persistence=ifupdown) writes C(/etc/network/interfaces.d/lvs-cluster-nat-route-<device>) with an
    C(iface <device> inet|inet6 manual) stanza holding C(up ip route replace ...) and C(down ip route del ...) lines,
    run when the host's own configuration brings the device up."
  - "O(persistence=networkmanager) writes C(/etc/NetworkManager/dispatcher.d/50-lvs-cluster-nat-route-<device>), which
    runs C(ip route replace ...) for each route when NetworkManager brings the device up or reapplies its profile.
    O(restore) does not ask NetworkManager for the routes of its own profiles: C(nmcli device reapply <device>) does
    (a warning says so when nothing could be restored)."
  - "With O(persistence=none), on a device systemd-networkd manages, the route goes when networkd starts or reconfigures
    the device (it removes routes it did not configure)."
  - "A route is always set with a replace (as C(ip route replace)), so a destination is never without a route while it
    changes; on failure the route it replaced is put back."
  - "Runtime and persistence agree: the route is set over netlink with the destination, gateway, device and metric the
    drop-in (or the C(up) line) gives, so reloading networkd keeps it and a reboot brings it back."
  - "When a route of the host's own configuration has the same destination and metric (a C(Gateway=) in the device's
    C(.network) file, a DHCP default route with the same metric), both are configured at boot and the last one wins; the
    module warns when it replaces a route. Remove the host's own one, or give it a higher metric."
  - Only the main routing table is managed. Policy routing (a table of its own for replies of the virtual services) is
    not covered.
requirements:
  - pyroute2 >= 0.7.2 on the target
  - Linux, run as root (CAP_NET_ADMIN)
seealso:
  - module: lvs.cluster.director_vip
  - module: lvs.cluster.ipvs_server
author:
  - lvs.cluster contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: LVS-NAT real server, default route via the director's inside address
  lvs.cluster.nat_route:
    gateway: 10.97.1.1

- name: Only the client networks via the director, on a given device, with a metric
  lvs.cluster.nat_route:
    gateway: 10.97.1.1
    device: eth1
    destinations:
      - 10.97.200.0/24
      - 10.97.201.0/24
    metric: 50

- name: IPv6 default route via the director
  lvs.cluster.nat_route:
    gateway: fd97:1::1

- name: Remove the route back and put the host's own default route back
  lvs.cluster.nat_route:
    gateway: 10.97.1.1
    state: absent
'''

RETURN = r'''
gateway:
  description: The gateway, normalized.
  returned: always
  type: str
  sample: 10.97.1.1
device:
  description: The device the routes go out of (given or derived); with O(state=absent) null when it could not be derived.
  returned: always
  type: str
  sample: natdum0
metric:
  description: The metric of the routes (the kernel's default when O(metric) is not given).
  returned: always
  type: int
  sample: 0
destinations:
  description: The destinations, normalized (V(default) for a zero-length prefix).
  returned: always
  type: list
  elements: str
  sample: ["default"]
routes:
  description:
    - The main table's routes to the destinations after the call (predicted in check mode), as C(ip route) shows them.
    - C(networkctl reconfigure) (O(restore)) works in the background, so a route it puts back may show up a moment later.
  returned: always
  type: list
  elements: str
  sample: ["default via 10.97.1.1 dev natdum0 metric 0"]
set:
  description: Routes set (added or replaced); on failure, only those still set after the rollback.
  returned: always
  type: list
  elements: str
  sample: ["default via 10.97.1.1 dev natdum0 metric 0"]
replaced:
  description: Routes with the same destination and metric that the routes set replaced.
  returned: always
  type: list
  elements: str
  sample: ["default via 10.10.0.1 dev eth0 metric 0"]
deleted:
  description: Routes deleted (O(state=absent)); on failure, only those still deleted after the rollback.
  returned: always
  type: list
  elements: str
  sample: []
restored:
  description: What O(restore) did (would do, in check mode), one line per action.
  returned: always
  type: list
  elements: str
  sample: ["networkctl reconfigure eth0 (/etc/systemd/network/10-eth0.network: a route to default (Gateway=10.10.0.1))"]
persistence:
  description: The back end the routes were persisted with, V(networkd), V(networkmanager), V(ifupdown) or V(none) (V(auto) for O(state=absent)).
  returned: always
  type: str
  sample: networkd
network_file:
  description: With O(persistence=networkd) and O(state=present), the C(.network) file whose drop-ins hold the routes; else null.
  returned: always
  type: str
  sample: /etc/systemd/network/10-natdum0.network
persistence_files:
  description: The persistence files that hold the routes after the call.
  returned: always
  type: list
  elements: str
  sample: ["/etc/systemd/network/10-natdum0.network.d/lvs-nat-route-default4-m0.conf"]
rollback:
  description:
    - On a failure after the routes and their drop-ins started to change, C(undone) lists the steps rolled back (last
      first), and C(not_restored) the undos that failed too, each with its error (what they name is still in effect).
  returned: failure after a change was started
  type: dict
  sample: {"undone": ["set default via 10.97.1.1 dev natdum0 metric 0"], "not_restored": []}
changed_files:
  description: Files of the routes written or removed by the call (would be, in check mode; on failure, only those not put back).
  returned: always
  type: list
  elements: str
  sample: ["/etc/systemd/network/10-natdum0.network.d/lvs-nat-route-default4-m0.conf"]
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.lvs.cluster.plugins.module_utils._pyroute2 import require_pyroute2
from ansible_collections.lvs.cluster.plugins.module_utils import _persist as persist
from ansible_collections.lvs.cluster.plugins.module_utils import _persist_ifupdown as ifupdown
from ansible_collections.lvs.cluster.plugins.module_utils import _persist_networkd as networkd
from ansible_collections.lvs.cluster.plugins.module_utils import _route as rt
from ansible_collections.lvs.cluster.plugins.module_utils import _vip as vip
from ansible_collections.lvs.cluster.plugins.module_utils._rtnetlink import Netlink, Route

OWNER = persist.Owner(mark='Managed by Ansible (lvs.cluster.nat_route)', dropin_prefix='lvs-nat-route-',
                      ifupdown_template='lvs-cluster-nat-route-%s', create_network_file=False, auto_line=False,
                      exclusive=True)
REPORTED = ('set', 'deleted', 'restored', 'changed_files')


def fail(module, exc):
    module.fail_json(msg=to_native(exc))


def plan_restore(module, netlink, gone, family):
    """(links to `networkctl reconfigure` [(link, why)], routes to set [Route]) that the host's own
    configuration gives for the destinations whose route this call deletes."""
    links = networkd.links_giving_routes(OWNER, netlink.names(), gone)
    routes = []
    if ifupdown.ifupdown_in_use() and any(dst.prefixlen == 0 for dst in gone):
        for text in ifupdown.host_texts(skip_prefix=OWNER.ifupdown_template % ''):
            for route in ifupdown.gateway_routes(text):
                if route.dst.version == family and route.dst in gone and netlink.link(route.device) is not None:
                    routes.append(route)
    if not links and not routes and any(dst.prefixlen == 0 for dst in gone):
        module.warn('restore: the host\'s own configuration gives no default route this module can put back '
                    '(DHCP or up commands under ifupdown come back with ifdown/ifup or a reboot; NetworkManager\'s '
                    'with nmcli device reapply DEVICE)')
    return links, routes


def route_steps(steps, netlink, to_set, replaced, to_delete, restore_routes, current):
    """The kernel steps. A route the host's own configuration gives back with the same destination and
    metric replaces ours in one call, so the destination is never without a route; others are set
    before ours goes."""
    old = dict(((r.dst, r.metric), r) for r in replaced)
    for route in to_set:
        before = old.get((route.dst, route.metric))
        steps.run('set %s' % rt.route_text(route), lambda r=route: netlink.replace_route(r),
                  (lambda b=before: netlink.replace_route(b)) if before else (lambda r=route: netlink.delete_route(r)),
                  ('set', rt.route_text(route)))
    pending = [r for r in restore_routes if r not in current]
    for route in to_delete:
        same = [r for r in pending if (r.dst, r.metric) == (route.dst, route.metric)]
        if same:
            pending.remove(same[0])
            steps.run('replace %s by %s' % (rt.route_text(route), rt.route_text(same[0])),
                      lambda r=same[0]: netlink.replace_route(r), lambda r=route: netlink.replace_route(r),
                      [('deleted', rt.route_text(route)), ('restored', '%s (ifupdown gateway)' % rt.route_text(same[0]))])
            continue
        for other in [r for r in pending if r.dst == route.dst]:
            pending.remove(other)
            steps.run('set %s' % rt.route_text(other), lambda r=other: netlink.replace_route(r),
                      lambda r=other: netlink.delete_route(r), ('restored', '%s (ifupdown gateway)' % rt.route_text(other)))
        steps.run('delete %s' % rt.route_text(route), lambda r=route: netlink.delete_route(r),
                  lambda r=route: netlink.replace_route(r), ('deleted', rt.route_text(route)))


def reconfigure_steps(module, steps, links):
    """networkctl reconfigure of the links whose own configuration gives the route back (after the reload)."""
    networkctl = module.get_bin_path('networkctl') or 'networkctl'

    def reconfigure(link):
        rc, out, err = module.run_command([networkctl, 'reconfigure', link])
        if rc != 0:
            raise OSError('rc=%d: %s' % (rc, (err or out).strip()))

    for link, why in links:
        steps.run('networkctl reconfigure %s' % link, lambda name=link: reconfigure(name), lambda: None,
                  ('restored', 'networkctl reconfigure %s (%s)' % (link, why)))


def main():
    spec = persist.argument_spec()
    spec.update(gateway=dict(type='str', required=True),
                destinations=dict(type='list', elements='str', default=['default'], aliases=['destination']),
                device=dict(type='str'), metric=dict(type='int'), restore=dict(type='bool', default=True))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    require_pyroute2(module)
    params = module.params
    state = params['state']

    # Every check comes before the first change.
    try:
        gateway = rt.normalize_gateway(params['gateway'])
        destinations = rt.normalize_destinations(params['destinations'], gateway)
        metric = rt.normalize_metric(params['metric'], gateway.version)
        if params['device'] is not None:
            vip.check_real_device(params['device'], module_hint=False)
            if params['device'] == 'lo':
                raise vip.VipError('device: lo cannot reach a gateway; give the device facing the director')
        chosen = persist.choose_backends(params['persistence'], state)
    except (vip.VipError, persist.PersistError) as exc:
        fail(module, exc)

    netlink = Netlink()
    try:
        device = params['device']
        index = None
        if device is not None:
            link = netlink.link(device)
            if link is None and state == 'present':
                module.fail_json(msg='device: %s does not exist' % device)
            index = link[0] if link is not None else None
        try:
            device = rt.choose_device(gateway, netlink.all_addresses(), device if index is not None else None)
            index = netlink.link(device)[0]
        except vip.VipError as exc:
            if state == 'present':
                fail(module, exc)
            if device is None or index is None:
                device, index = None, None
        wanted = [Route(dst, metric, gateway, device) for dst in destinations]

        current = [r for r in netlink.routes(gateway.version) if r.dst in destinations]
        to_set, to_delete, replaced = rt.plan_routes(current, wanted, state)

        plan, holding, network_file = {}, [], None
        try:
            for backend in chosen:
                files, held, used = backend.plan_routes(OWNER, wanted, index, params['metric'] is not None, state, module.warn)
                plan.update(files)
                holding.extend(held)
                network_file = network_file or used
            changes = persist.file_changes(plan)
        except persist.PersistError as exc:
            fail(module, exc)

        changed = bool(to_set or to_delete or changes)
        predicted = [r for r in current if r not in to_delete and r not in replaced] + to_set
        restore_links, restore_routes = [], []
        if state == 'absent' and changed and params['restore']:
            restore_links, restore_routes = plan_restore(module, netlink, [r.dst for r in to_delete] or destinations,
                                                         gateway.version)
        for route in replaced:
            if chosen:
                module.warn('replaced %s: if the host\'s own configuration sets it too, both are configured at boot and '
                            'the last one wins; remove it there, or give it a higher metric' % rt.route_text(route))
        result = dict(
            changed=changed,
            gateway=str(gateway),
            device=device,
            metric=metric,
            destinations=[rt.destination_text(dst) for dst in destinations],
            persistence=chosen[0].name if state == 'present' and chosen else params['persistence'],
            network_file=network_file,
            set=[rt.route_text(r) for r in to_set],
            replaced=[rt.route_text(r) for r in replaced],
            deleted=[rt.route_text(r) for r in to_delete],
            restored=(['networkctl reconfigure %s (%s)' % item for item in restore_links]
                      + ['%s (ifupdown gateway)' % rt.route_text(r) for r in restore_routes if r not in current]),
            changed_files=[change.path for change in changes],
            persistence_files=holding,
        )
        if module._diff:
            result['diff'] = persist.state_diffs('routes', [rt.route_text(r) for r in current],
                                                 [rt.route_text(r) for r in predicted], changes)

        if changed and not module.check_mode:
            steps = persist.Steps()
            reloaded = False
            try:
                route_steps(steps, netlink, to_set, replaced, to_delete, restore_routes, current)
                steps.files(module, changes)
                reloaded = True
                for warning in persist.reload_backends(module, chosen, changes, params['reload_networkd']):
                    module.warn(warning)
                reconfigure_steps(module, steps, restore_links)
            except Exception as exc:  # pylint: disable=broad-except  # every failure rolls back
                steps.rollback()
                if reloaded:  # networkd read the files we put back
                    for warning in persist.reload_backends(module, chosen, changes, params['reload_networkd']):
                        module.warn(warning)
                result['routes'] = [rt.route_text(r) for r in netlink.routes(gateway.version) if r.dst in destinations]
                steps.fail(module, exc, result, REPORTED)
            predicted = [r for r in netlink.routes(gateway.version) if r.dst in destinations]
        result['routes'] = [rt.route_text(r) for r in predicted]
    finally:
        netlink.close()

    module.exit_json(**result)


if __name__ == '__main__':
    main()
