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
    C([Route]) drop-ins, or ifupdown C(up) lines, see O(persistence)).
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
  persistence:
    description:
      - How the routes come back at boot.
      - V(auto) uses V(networkd) when systemd-networkd is running or enabled, else V(ifupdown) when
        C(/etc/network/interfaces) and C(ifup) exist, else fails asking for an explicit choice.
      - V(networkd) writes one drop-in per route,
        C(/etc/systemd/network/<file>.network.d/lvs-nat-route-<destination>-m<metric>.conf) (destination C(default4),
        C(default6) or C(<address>-<prefix>) with C(:) as C(-)), with a C([Route]) section (C(Destination=),
        C(Gateway=), and C(Metric=) when O(metric) is given). C(<file>) is the C(.network) file networkd uses for the
        device, found and checked as M(lvs.cluster.director_vip) does. It must match the device alone, and the task
        fails when no C(.network) file names the device (the module never creates one). A drop-in for the same
        destination and metric on another device's file is removed.
      - V(ifupdown) writes C(/etc/network/interfaces.d/lvs-cluster-nat-route-<device>) with an
        C(iface <device> inet|inet6 manual) stanza holding C(up ip route replace ...) and C(down ip route del ...)
        lines, run when the host's own configuration brings the device up.
      - V(none) changes only the running system. On a device systemd-networkd manages, such a route goes when networkd
        starts or reconfigures the device (it removes routes it did not configure).
      - With O(state=absent) the module removes the routes from the files of both kinds it finds, unless V(none).
    type: str
    choices: [auto, networkd, ifupdown, none]
    default: auto
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
        Routes that ifupdown gets from DHCP or from C(up) commands of the host come back only with C(ifdown)/C(ifup) or
        a reboot (a warning says so when nothing could be restored).
    type: bool
    default: true
  reload_networkd:
    description:
      - After changing systemd-networkd files, run C(networkctl reload) when networkd is running, so that networkd
        counts the routes as its own (it keeps them on reconfiguration, and a removed route does not come back).
    type: bool
    default: true
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
  - "Runtime and persistence agree: the route is set over netlink with the destination, gateway, device and metric the
    drop-in (or the C(up) line) gives, so reloading networkd keeps it and a reboot brings it back."
  - "When a route of the host's own configuration has the same destination and metric (a C(Gateway=) in the device's
    C(.network) file, a DHCP default route with the same metric), both are configured at boot and the last one wins; the
    module warns when it replaces a route. Remove the host's own one, or give it a higher metric."
  - Only the main routing table is managed. Policy routing (a table of its own for replies of the virtual services) is
    not covered.
  - NetworkManager is not supported for persistence; use O(persistence=none) and configure it separately.
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
  description: The gateway, normalised.
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
  description: The destinations, normalised (V(default) for a zero-length prefix).
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
  description: Routes set (added or replaced).
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
  description: Routes deleted (O(state=absent)).
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
  description: The persistence used, V(networkd), V(ifupdown) or V(none) (with O(state=absent) and O(persistence=auto), V(auto)).
  returned: always
  type: str
  sample: networkd
network_file:
  description: The C(.network) file of the device the drop-ins attach to (O(persistence=networkd) and O(state=present)), else null.
  returned: always
  type: str
  sample: /etc/systemd/network/10-natdum0.network
persistence_files:
  description: The persistence files that hold the routes after the call.
  returned: always
  type: list
  elements: str
  sample: ["/etc/systemd/network/10-natdum0.network.d/lvs-nat-route-default4-m0.conf"]
changed_files:
  description: Persistence files written or removed by the call (would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["/etc/systemd/network/10-natdum0.network.d/lvs-nat-route-default4-m0.conf"]
'''

import glob
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.lvs.cluster.plugins.module_utils._pyroute2 import require_pyroute2
from ansible_collections.lvs.cluster.plugins.module_utils import _route as rt
from ansible_collections.lvs.cluster.plugins.module_utils import _vip as vip


def fail(module, exc):
    module.fail_json(msg=to_native(exc))


def our_dropins(route):
    return glob.glob(os.path.join(vip.NETWORKD_ETC, '*.network.d', rt.networkd_dropin_glob(route.dst, route.metric)))


def plan_networkd(module, routes, index, explicit_metric, state):
    """{path: content or None}, the files holding the routes, the .network file (present)."""
    plan = {}
    holding = []
    network_file = None
    if state == 'present':
        device = routes[0].device
        try:
            name, network_file, notes = vip.networkd_device_file(device, vip.networkd_files(), vip.networkd_link_file(index))
        except vip.VipError as exc:
            fail(module, exc)
        for note in notes:
            module.warn(note)
        for route in routes:
            path = os.path.join(vip.networkd_dropin_dir(name), rt.networkd_dropin_name(route))
            plan[path] = rt.render_networkd_dropin(route, explicit_metric)
            holding.append(path)
            for other in our_dropins(route):
                if other != path:
                    plan[other] = None
    else:
        for route in routes:
            for path in our_dropins(route):
                gateways = [gw for _dst, gw, _metric in rt.parse_networkd_routes(vip.read_text(path))]
                if route.gateway in gateways:
                    plan[path] = None
    return plan, holding, network_file


def plan_ifupdown(module, routes, state):
    plan = {}
    holding = []
    keys = set((r.dst, r.metric) for r in routes)
    for path in sorted(glob.glob(os.path.join(vip.IFUPDOWN_DIR, rt.ROUTE_IFUPDOWN_TEMPLATE % '*'))):
        old = vip.read_text(path)
        device = None
        for raw in (old or '').splitlines():
            words = raw.split()
            if len(words) >= 2 and words[0] == 'iface':
                device = words[1]
                break
        if device is None:
            continue
        existing = rt.parse_ifupdown(old, device)
        if state == 'present':
            kept = [r for r in existing if (r.dst, r.metric) not in keys]
        else:
            gone = set((r.dst, r.metric, r.gateway) for r in routes)
            kept = [r for r in existing if (r.dst, r.metric, r.gateway) not in gone]
        if kept != existing:
            plan[path] = rt.render_ifupdown(device, kept)
    if state == 'present':
        device = routes[0].device
        path = rt.ifupdown_path(device)
        old = vip.read_text(path)
        existing = [r for r in rt.parse_ifupdown(old, device) if (r.dst, r.metric) not in keys]
        plan[path] = rt.render_ifupdown(device, existing + list(routes))
        holding.append(path)
        main = vip.read_text(vip.IFUPDOWN_INTERFACES)
        if not vip.ifupdown_sources_dir(main):
            module.warn('%s does not read %s: add "source %s/*" or the routes will not come back at boot'
                        % (vip.IFUPDOWN_INTERFACES, vip.IFUPDOWN_DIR, vip.IFUPDOWN_DIR))
        others = [vip.read_text(p) for p in sorted(glob.glob(os.path.join(vip.IFUPDOWN_DIR, '*'))) if p != path]
        if not vip.ifupdown_brings_up(device, [main] + others):
            module.warn('no auto or allow-hotplug line names %s in %s or %s: ifupdown will not bring it up at boot, '
                        'and the routes will not come back' % (device, vip.IFUPDOWN_INTERFACES, vip.IFUPDOWN_DIR))
    return plan, holding


def networkd_text(network_path):
    """A .network file with its drop-ins from every networkd directory, ours left out."""
    name = os.path.basename(network_path)
    parts = [vip.read_text(network_path) or '']
    dropins = {}
    for directory in vip.NETWORKD_DIRS:
        for path in glob.glob(os.path.join(directory, name + '.d', '*.conf')):
            dropins.setdefault(os.path.basename(path), path)
    for base in sorted(dropins):
        if not base.startswith(rt.ROUTE_DROPIN_PREFIX):
            parts.append(vip.read_text(dropins[base]) or '')
    return '\n'.join(parts)


def plan_restore(module, netlink, destinations, family):
    """(networkctl reconfigure targets [(link, why)], routes to set [Route]) the host's own configuration gives."""
    links = []
    routes = []
    if os.path.exists('/run/systemd/netif/state'):
        names = netlink.names()
        for index in sorted(names):
            applied = vip.networkd_link_file(index)
            if not applied or names[index] == 'lo':
                continue
            text = networkd_text(applied)
            for dst in destinations:
                why = rt.networkd_gives_route(text, dst)
                if why:
                    links.append((names[index], '%s: %s' % (applied, why)))
                    break
    if vip.ifupdown_in_use() and any(dst.prefixlen == 0 for dst in destinations):
        texts = [vip.read_text(vip.IFUPDOWN_INTERFACES)]
        texts += [vip.read_text(p) for p in sorted(glob.glob(os.path.join(vip.IFUPDOWN_DIR, '*')))
                  if not os.path.basename(p).startswith(rt.ROUTE_IFUPDOWN_TEMPLATE % '')]
        for text in texts:
            for route in rt.ifupdown_gateways(text):
                if route.dst.version == family and netlink.link(route.device) is not None:
                    routes.append(route)
    return links, routes


def main():
    module = AnsibleModule(
        argument_spec=dict(
            gateway=dict(type='str', required=True),
            destinations=dict(type='list', elements='str', default=['default'], aliases=['destination']),
            device=dict(type='str'),
            metric=dict(type='int'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            persistence=dict(type='str', default='auto', choices=list(vip.PERSISTENCE_CHOICES)),
            restore=dict(type='bool', default=True),
            reload_networkd=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
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
    except vip.VipError as exc:
        fail(module, exc)

    persistence = params['persistence']
    if persistence == 'auto' and state == 'present':
        persistence = vip.detect_persistence()
        if persistence is None:
            module.fail_json(msg='persistence=auto found neither systemd-networkd (running or enabled) nor ifupdown '
                                 '(/etc/network/interfaces and ifup): set persistence to networkd, ifupdown or none')

    netlink = rt.RouteNetlink()
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
        wanted = [rt.Route(dst, metric, gateway, device) for dst in destinations]

        current = [r for r in netlink.routes(gateway.version) if r.dst in destinations]
        to_set, to_delete, replaced = rt.plan_routes(current, wanted, state)

        file_plan, holding, network_file = {}, [], None
        if state == 'present' and persistence == 'networkd':
            file_plan, holding, network_file = plan_networkd(module, wanted, index, params['metric'] is not None, state)
        elif state == 'present' and persistence == 'ifupdown':
            file_plan, holding = plan_ifupdown(module, wanted, state)
        elif state == 'absent' and persistence != 'none':
            if persistence in ('auto', 'networkd'):
                file_plan.update(plan_networkd(module, wanted, index, False, state)[0])
            if persistence in ('auto', 'ifupdown'):
                file_plan.update(plan_ifupdown(module, wanted, state)[0])

        file_changes = []
        for path in sorted(file_plan):
            old = vip.read_text(path)
            if os.path.lexists(path) and not os.path.isfile(path):
                module.fail_json(msg='persistence: %s exists and is not a regular file' % path)
            if old != file_plan[path]:
                file_changes.append((path, old, file_plan[path]))

        changed = bool(to_set or to_delete or file_changes)
        predicted = [r for r in current if r not in to_delete and r not in replaced] + to_set
        restore_links, restore_routes = [], []
        if state == 'absent' and changed and params['restore']:
            gone = [r.dst for r in to_delete] or destinations
            restore_links, restore_routes = plan_restore(module, netlink, gone, gateway.version)
            restore_routes = [r for r in restore_routes if r.dst in gone]
            if not restore_links and not restore_routes and any(r.dst.prefixlen == 0 for r in to_delete):
                module.warn('restore: the host\'s own configuration gives no default route this module can put back '
                            '(DHCP or up commands under ifupdown come back with ifdown/ifup or a reboot)')
        for route in replaced:
            if persistence != 'none':
                module.warn('replaced %s: if the host\'s own configuration sets it too, both are configured at boot and '
                            'the last one wins; remove it there, or give it a higher metric' % rt.route_text(route))
        result = dict(
            changed=changed,
            gateway=str(gateway),
            device=device,
            metric=metric,
            destinations=[rt.destination_text(dst) for dst in destinations],
            persistence=persistence,
            network_file=network_file,
            set=[rt.route_text(r) for r in to_set],
            replaced=[rt.route_text(r) for r in replaced],
            deleted=[rt.route_text(r) for r in to_delete],
            restored=(['networkctl reconfigure %s (%s)' % item for item in restore_links]
                      + ['%s (ifupdown gateway)' % rt.route_text(r) for r in restore_routes]),
            changed_files=[change[0] for change in file_changes],
            persistence_files=holding,
        )
        if module._diff:
            result['diff'] = vip.state_diffs('routes', [rt.route_text(r) for r in current],
                                             [rt.route_text(r) for r in predicted], file_changes)

        if changed and not module.check_mode:
            try:
                for route in to_delete:
                    netlink.delete_route(route, netlink.link(route.device)[0] if route.device else None)
                for route in to_set:
                    netlink.replace_route(route, index)
            except Exception as exc:  # pylint: disable=broad-except  # NetlinkError and socket errors alike
                module.fail_json(msg='netlink route call failed: %s' % to_native(exc), **result)
            vip.apply_file_changes(module, file_changes)
            networkctl = vip.reload_networkd(module, file_changes, params['reload_networkd'])
            for link_name, _why in restore_links:
                rc, out, err = module.run_command([networkctl or 'networkctl', 'reconfigure', link_name])
                if rc != 0:
                    module.warn('restore: networkctl reconfigure %s failed (rc=%d): %s' % (link_name, rc, (err or out).strip()))
            for route in restore_routes:
                try:
                    netlink.replace_route(route, netlink.link(route.device)[0])
                except Exception as exc:  # pylint: disable=broad-except
                    module.warn('restore: setting %s failed: %s' % (rt.route_text(route), to_native(exc)))
            predicted = [r for r in netlink.routes(gateway.version) if r.dst in destinations]
        result['routes'] = [rt.route_text(r) for r in predicted]
    finally:
        netlink.close()

    module.exit_json(**result)


if __name__ == '__main__':
    main()
