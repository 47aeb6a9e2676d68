# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NetworkManager back end of the persistence engine (_persist): one dispatcher script per
owner and device in /etc/NetworkManager/dispatcher.d that sets the addresses (or routes) again
with `ip ... replace` whenever NetworkManager brings a device up or reapplies its profile.

Why dispatcher scripts, not the host's connection profiles: the profiles are the operator's (or
cloud-init's, or the installer's); an address added to one would be lost when someone recreates
it, and lo has no profile before NetworkManager 1.42. NetworkManager takes away addresses it did
not set when it (re)configures the device (a reapply or a new activation: the lab's dr scenario
watched them go and come back 0.7 to 1 s later), and each of those events runs the script again.

A script for lo or a tunnel device (lo_vip's own devices, which NetworkManager does not bring up)
runs on any device's event, so the addresses come back when the first device comes up at boot;
a real device's script runs on that device's events only.

NetworkManager runs a dispatcher script only when root owns it and no one else may write it
(NetworkManager-dispatcher(8)): the engine writes these files 0755 (_persist.file_mode).

Private to this collection: its interface may change without notice. Readers take a root prefix for unit tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import ipaddress
import os

from ansible_collections.lvs.cluster.plugins.module_utils._persist import plan_device_route_files, read_text
from ansible_collections.lvs.cluster.plugins.module_utils._persist_ifupdown import safe_name
from ansible_collections.lvs.cluster.plugins.module_utils._rtnetlink import Route, ip_or_none
from ansible_collections.lvs.cluster.plugins.module_utils._vip import DEVICE_FAMILIES

DISPATCHER_DIR = '/etc/NetworkManager/dispatcher.d'
# Before the distributions' own scripts (e.g. 90-nm-cloud-setup.sh); the name's digits order them.
SCRIPT_PREFIX = '50-'
NETWORKMANAGER = ('/usr/sbin/NetworkManager', '/usr/bin/NetworkManager', '/sbin/NetworkManager')
# Enabled for boot, or running now (NetworkManager writes its device state under /run/NetworkManager).
ENABLED_LINKS = ('/etc/systemd/system/multi-user.target.wants/NetworkManager.service',
                 '/etc/systemd/system/network-online.target.wants/NetworkManager.service')
RUN_DIR = '/run/NetworkManager/devices'
# The events after which a device's addresses or routes may have been set anew by NetworkManager.
ACTIONS = ('up', 'reapply', 'dhcp4-change', 'dhcp6-change')
# lo_vip's devices (lo and the tunnels' fallback devices), which NetworkManager does not bring up
# itself: their scripts run on any device's event.
ANY_DEVICE = tuple(DEVICE_FAMILIES)


def script_path(owner, device):
    return os.path.join(DISPATCHER_DIR, SCRIPT_PREFIX + owner.ifupdown_template % safe_name(device))


def networkmanager_in_use(root=''):
    """NetworkManager is installed and enabled for boot, or running now."""
    if not any(os.path.exists(root + path) for path in NETWORKMANAGER):
        return False
    return any(os.path.lexists(root + path) for path in ENABLED_LINKS) or os.path.isdir(root + RUN_DIR)


def _head(owner, device, what):
    if device in ANY_DEVICE:
        guard = '# NetworkManager does not bring %s up: on any device\'s event\n' % device
    else:
        guard = '[ "$1" = %s ] || exit 0\n' % device
    return ''.join([
        '#!/bin/sh\n',
        '# %s: %s, set again when NetworkManager brings a device up.\n' % (owner.mark, what),
        '# NetworkManager runs this with the device ($1) and the event ($2) of each change.\n',
        'case "$2" in %s) ;; *) exit 0 ;; esac\n' % '|'.join(ACTIONS),
        guard,
        'PATH=/usr/sbin:/usr/bin:/sbin:/bin\n',
    ])


def render_addresses(owner, device, ifaces):
    """A script that sets the device's addresses (and brings lo_vip's devices up); None when no
    address is left (the file goes)."""
    if not ifaces:
        return None
    lines = [_head(owner, device, 'virtual IPs on %s' % device)]
    # A tunnel device exists once its kernel module is loaded (the realserver role loads it at boot).
    lines.append('[ -e /sys/class/net/%s ] || exit 0\n' % device)
    if owner.auto_line:
        lines.append('ip link set dev %s up\n' % device)
    for iface in sorted(ifaces, key=lambda i: (i.ip.version, int(i.ip), i.network.prefixlen)):
        lines.append('ip %saddress replace %s/%d dev %s\n'
                     % ('-6 ' if iface.ip.version == 6 else '', iface.ip, iface.network.prefixlen, device))
    return ''.join(lines)


def parse_addresses(text, device):
    """The addresses of the `ip address replace ADDR/PREFIX dev DEVICE` lines of our script."""
    result = []
    for raw in (text or '').splitlines():
        words = [w for w in raw.split() if w not in ('-4', '-6')]
        if len(words) != 6 or words[:3] != ['ip', 'address', 'replace'] or words[4:] != ['dev', device]:
            continue
        try:
            result.append(ipaddress.ip_interface(words[3]))
        except ValueError:
            continue
    return result


def render_routes(owner, device, routes):
    """A script that sets the routes through the device; None when no route is left."""
    if not routes:
        return None
    lines = [_head(owner, device, 'routes via %s' % device)]
    for route in sorted(routes, key=lambda r: (r.dst.version, int(r.dst.network_address), r.dst.prefixlen, r.metric)):
        lines.append('ip %sroute replace %s via %s dev %s metric %d\n'
                     % ('-6 ' if route.dst.version == 6 else '', route.dst, route.gateway, route.device, route.metric))
    return ''.join(lines)


def parse_routes(text, device):
    """The routes of the `ip [-6] route replace DST via GW dev DEVICE metric M` lines of our script."""
    result = []
    for raw in (text or '').splitlines():
        words = [w for w in raw.split() if w not in ('-4', '-6')]
        if len(words) != 10 or words[:3] != ['ip', 'route', 'replace']:
            continue
        args = dict(zip(words[4::2], words[5::2]))
        try:
            dst = ipaddress.ip_network(words[3], strict=False)
        except ValueError:
            continue
        gateway = ip_or_none(args.get('via', ''))
        metric = args.get('metric', '')
        if gateway is None or args.get('dev') != device or not metric.isdigit():
            continue
        result.append(Route(dst, int(metric), gateway, device))
    return result


def _device_of(path):
    """The device a script of the owner is for, from the `dev DEVICE` of its lines (names are made safe)."""
    for raw in (read_text(path) or '').splitlines():
        words = raw.split()
        if words[:1] == ['ip'] and 'dev' in words[:-1] and 'replace' in words:
            return words[words.index('dev') + 1]
    return None


def _scripts_of(owner):
    return sorted(glob.glob(os.path.join(DISPATCHER_DIR, SCRIPT_PREFIX + owner.ifupdown_template % '*')))


class NetworkManager(object):
    """NetworkManager as a back end of _persist."""

    name = 'networkmanager'
    probe_text = 'NetworkManager is not installed, or neither enabled nor running (%s)' % RUN_DIR

    def in_use(self, root=''):
        return networkmanager_in_use(root)

    def unusable(self, root=''):
        if not networkmanager_in_use(root):
            return ('this host does not run NetworkManager (%s installed, NetworkManager.service enabled or '
                    'running), so its dispatcher would never run the script' % NETWORKMANAGER[0])
        return None

    def plan_addresses(self, owner, device, index, wanted, state, warn):
        """({path: content or None}, [paths holding the addresses], None)."""
        plan = {}
        wanted_ips = set(iface.ip for iface in wanted)
        path = script_path(owner, device)
        if owner.exclusive:
            # An address lives on one device: an earlier call's script for another device lets it go.
            for other in _scripts_of(owner):
                other_device = _device_of(other)
                if other == path or other_device is None:
                    continue
                existing = parse_addresses(read_text(other), other_device)
                kept = [iface for iface in existing if iface.ip not in wanted_ips]
                if kept != existing:
                    plan[other] = render_addresses(owner, other_device, kept)
        old = read_text(path)
        if state == 'absent' and old is None:
            return plan, [], None
        kept = [iface for iface in parse_addresses(old, device) if iface.ip not in wanted_ips]
        if state == 'absent':
            plan[path] = render_addresses(owner, device, kept)
            return plan, [], None
        plan[path] = render_addresses(owner, device, kept + list(wanted))
        return plan, [path], None

    def plan_routes(self, owner, routes, index, explicit_metric, state, warn):
        """The same for nat_route's routes."""
        device_files = [(path, _device_of(path)) for path in _scripts_of(owner)]
        plan, held = plan_device_route_files(routes, state, [item for item in device_files if item[1] is not None],
                                             parse_routes, lambda device, kept: render_routes(owner, device, kept),
                                             lambda device: script_path(owner, device))
        return plan, held, None

    def reload(self, module, paths):
        # The dispatcher reads the scripts at the next event; the kernel state is set already.
        return None


BACKEND = NetworkManager()
