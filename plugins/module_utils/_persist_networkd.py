# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The systemd-networkd back end of the persistence engine (_persist): which .network file
networkd uses for a device, and one drop-in per address ([Address]) or route ([Route]) on it.

A drop-in goes to the file networkd already uses for the device, so the host's own configuration
of the device stays in force. Only lo_vip may create a .network file (for lo and the tunnel
devices, which usually have none); for a real device a new file would take its configuration over.

Private to this collection: its interface may change without notice. Readers take a root prefix for unit tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import glob
import ipaddress
import os

from ansible_collections.lvs.cluster.plugins.module_utils._persist import PersistError, read_text
from ansible_collections.lvs.cluster.plugins.module_utils._rtnetlink import ip_or_none

NETWORKD_DIRS = (
    '/etc/systemd/network',
    '/run/systemd/network',
    '/usr/local/lib/systemd/network',
    '/usr/lib/systemd/network',
    '/lib/systemd/network',
)
NETWORKD_ETC = '/etc/systemd/network'
NETWORKD_STATE = '/run/systemd/netif/state'
NETWORKD_LINKS_STATE = '/run/systemd/netif/links'
# Sorts before the usual numbered files, so networkd picks it for the device (it uses only the
# first matching .network file, in file-name order).
NETWORKD_BASE_TEMPLATE = '05-lvs-cluster-%s.network'


def parse_unit(text):
    """[(section, key, value)] of a systemd unit-style file, in order (keys may repeat); each
    section header also gives (section, None, None), so repeated sections can be told apart."""
    entries = []
    section = None
    for raw in (text or '').splitlines():
        line = raw.strip()
        if not line or line[0] in '#;':
            continue
        if line.startswith('[') and line.endswith(']'):
            section = line[1:-1].strip()
            entries.append((section, None, None))
            continue
        if '=' not in line or section is None:
            continue
        key, _sep, value = line.partition('=')
        entries.append((section, key.strip(), value.strip()))
    return entries


def match_names(text):
    """(patterns, inverted) of the Name= settings of [Match]; None when there is no Name=."""
    patterns = None
    for section, key, value in parse_unit(text):
        if section != 'Match' or key != 'Name':
            continue
        if not value:
            patterns = []  # an empty assignment resets the list
            continue
        patterns = (patterns or []) + value.split()
    if patterns is None:
        return None
    inverted = bool(patterns) and patterns[0].startswith('!')
    return [pattern.lstrip('!') for pattern in patterns], inverted


def name_match(text, device):
    """'exact' if [Match] Name= lists device literally, 'glob' if only a pattern matches it,
    None if the file does not match it by name (files without Name= count as not matching)."""
    parsed = match_names(text)
    if parsed is None:
        return None
    patterns, inverted = parsed
    if inverted:
        return None if any(fnmatch.fnmatchcase(device, p) for p in patterns) else 'glob'
    if device in patterns:
        return 'exact'
    if any(fnmatch.fnmatchcase(device, p) for p in patterns):
        return 'glob'
    return None


def sole_name(text, device):
    """True when [Match] Name= of a .network file lists exactly the device (no pattern, no other name)."""
    return match_names(text) == ([device], False)


def networkd_files(dirs=NETWORKD_DIRS, root=''):
    """[(name, path)] of .network files in the order networkd considers them: by file name,
    a name in an earlier directory hiding it in later ones; masked files (symlinks to
    /dev/null, empty files) left out."""
    chosen = {}
    seen_dirs = set()
    for directory in dirs:
        full = root + directory
        real = os.path.realpath(full)
        if real in seen_dirs or not os.path.isdir(full):
            continue
        seen_dirs.add(real)
        for name in os.listdir(full):
            if name.endswith('.network') and name not in chosen:
                chosen[name] = os.path.join(directory, name)
    result = []
    for name in sorted(chosen):
        path = chosen[name]
        if os.path.realpath(root + path) == '/dev/null':
            continue
        try:
            if os.path.getsize(root + path) == 0:
                continue
        except OSError:
            continue
        result.append((name, path))
    return result


def networkd_in_use(root=''):
    """systemd-networkd is running now or enabled for boot, and not masked (a host handed over to
    NetworkManager keeps networkd's wants links when only the unit was masked)."""
    if os.path.realpath(root + '/etc/systemd/system/systemd-networkd.service') == '/dev/null':
        return False
    if os.path.exists(root + NETWORKD_STATE):
        return True
    wants = root + '/etc/systemd/system'
    for target in ('multi-user.target.wants', 'network-online.target.wants', 'sysinit.target.wants'):
        if os.path.lexists(os.path.join(wants, target, 'systemd-networkd.service')):
            return True
    return False


def networkd_link_file(index, root=''):
    """NETWORK_FILE= of networkd's state file for the link (the file it applied), or None."""
    if index is None:
        return None
    for raw in (read_text('%s/%d' % (NETWORKD_LINKS_STATE, index), root) or '').splitlines():
        key, _sep, value = raw.partition('=')
        if key.strip() == 'NETWORK_FILE' and value.strip():
            return value.strip()
    return None


def networkd_target(device, files, root=''):
    """For lo_vip: (file name, note) of the .network file the drop-ins attach to.

    If a file that names the device literally sorts before ours, the drop-ins go to it. Our own
    base file is created otherwise. A file matching the device only by a pattern (Name=*) and
    sorting first would hide ours, and drop-ins on it would put the addresses on every link it
    matches: that is an error."""
    ours = NETWORKD_BASE_TEMPLATE % device
    for name, path in files:
        if name == ours:
            return ours, None
        text = read_text(path, root)
        kind = name_match(text, device) if text is not None else None
        if kind is None:
            continue
        if kind == 'exact':
            return name, 'drop-ins attached to %s, the file networkd already uses for %s' % (path, device)
        if name < ours:
            raise PersistError(
                'persistence: %s matches %s by a pattern and sorts before %s, so systemd-networkd would '
                'ignore a file of ours, and drop-ins on it would add the virtual IPs to every link it matches. '
                'Give %s a .network file of its own that sorts first, or set persistence=none'
                % (path, device, ours, device))
        return ours, '%s takes %s over from %s, which matches it by a pattern' % (ours, device, path)
    return ours, None


def networkd_device_file(device, files, applied=None, root=''):
    """For a real device: (file name, path, notes) of the .network file networkd uses for it.

    applied: the NETWORK_FILE networkd reports for the link (authoritative when networkd runs).
    Otherwise the first file whose [Match] Name= matches the device, in networkd's order. The file
    must match the device alone: drop-ins on a file that matches other links too would configure
    them all. No file is created (PersistError instead)."""
    notes = []
    if applied:
        text = read_text(applied, root)
        if text is None:
            raise PersistError('persistence: %s, the file systemd-networkd applied to %s, cannot be read' % (applied, device))
        if not sole_name(text, device):
            raise PersistError('persistence: %s, the file systemd-networkd uses for %s, does not match it alone by '
                               '[Match] Name=%s, so a drop-in on it could configure other links too. Give %s a '
                               '.network file of its own, or set persistence=none' % (applied, device, device, device))
        return os.path.basename(applied), applied, notes
    for name, path in files:
        text = read_text(path, root)
        if text is None:
            continue
        parsed = match_names(text)
        if parsed is None:
            notes.append('%s matches links by other properties than Name= and sorts first; systemd-networkd '
                         'is not running, so it could not be checked whether that file is the one used for %s'
                         % (path, device))
            continue
        if name_match(text, device) is None:
            continue
        if not sole_name(text, device):
            raise PersistError('persistence: %s, the first .network file matching %s, matches other links too '
                               '([Match] Name=%s), so a drop-in on it could configure them as well. Give %s a .network '
                               'file of its own, or set persistence=none'
                               % (path, device, ' '.join(('!' if parsed[1] else '') + p for p in parsed[0]), device))
        return name, path, notes
    raise PersistError('persistence: no .network file names %s in [Match] Name= (looked in %s). This module adds '
                       'drop-ins to the file the host already uses for the device and does not create one, because a '
                       'new file would take the configuration of %s over. Create one (for example '
                       '/etc/systemd/network/10-%s.network with [Match] Name=%s and the device\'s own addresses), or '
                       'set persistence=ifupdown or none' % (device, ', '.join(NETWORKD_DIRS), device, device, device))


def networkd_base_path(device):
    return os.path.join(NETWORKD_ETC, NETWORKD_BASE_TEMPLATE % device)


def networkd_dropin_dir(network_name):
    return os.path.join(NETWORKD_ETC, network_name + '.d')


def address_token(iface):
    """'10.98.0.1-32', 'fd98--1-128' (':' becomes '-')."""
    return '%s-%d' % (str(iface.ip).replace(':', '-'), iface.network.prefixlen)


def address_dropin_name(owner, iface):
    """lvs-vip-10.98.0.1-32.conf (lo_vip), lvs-director-vip-10.97.0.1-32.conf (director_vip)."""
    return '%s%s.conf' % (owner.dropin_prefix, address_token(iface))


def render_networkd_base(owner, device):
    return (
        '# %s: lets systemd-networkd manage %s so that the\n'
        '# virtual IPs in the drop-ins of %s.d/ come back at boot.\n'
        '[Match]\n'
        'Name=%s\n'
        '\n'
        '[Link]\n'
        'RequiredForOnline=no\n'
        '\n'
        '[Network]\n'
        '# Never drop addresses networkd did not configure (127.0.0.1/8, ::1, VIPs added at runtime).\n'
        'KeepConfiguration=yes\n'
        'LinkLocalAddressing=no\n'
        'IPv6AcceptRA=no\n'
        'ConfigureWithoutCarrier=yes\n'
        % (owner.mark, device, NETWORKD_BASE_TEMPLATE % device, device))


def render_address_dropin(owner, iface):
    return '# %s\n[Address]\nAddress=%s/%d\n' % (owner.mark, iface.ip, iface.network.prefixlen)


def _dropins_of(name_pattern, directory='*.network.d'):
    return glob.glob(os.path.join(NETWORKD_ETC, directory, name_pattern))


def _address_pattern(owner, iface):
    """Our drop-ins of the address, whatever the prefix."""
    return '%s%s-*.conf' % (owner.dropin_prefix, str(iface.ip).replace(':', '-'))


# ---------------------------------------------------------------- routes (nat_route)

def dst_token(net):
    return 'default%d' % net.version if net.prefixlen == 0 else '%s-%d' % (str(net.network_address).replace(':', '-'), net.prefixlen)


def route_dropin_name(owner, route):
    """lvs-nat-route-default4-m0.conf, lvs-nat-route-10.97.200.0-24-m10.conf, lvs-nat-route-fd97-1---64-m1024.conf.

    Named by destination and metric, the two that identify a route to the kernel."""
    return '%s%s-m%d.conf' % (owner.dropin_prefix, dst_token(route.dst), route.metric)


def render_route_dropin(owner, route, explicit_metric):
    """A [Route] section; Metric= only when the option was given (networkd then leaves the kernel's default)."""
    lines = ['# %s\n' % owner.mark, '[Route]\n', 'Destination=%s\n' % route.dst, 'Gateway=%s\n' % route.gateway]
    if explicit_metric:
        lines.append('Metric=%d\n' % route.metric)
    return ''.join(lines)


def _net_or_none(value):
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def parse_networkd_routes(text):
    """[(destination or None, gateway or None, metric or None)] of the [Route] sections and [Network]
    Gateway= lines of a .network file or drop-in (unparsable values come back as None)."""
    result = []
    current = None
    for section, key, value in parse_unit(text):
        if section == 'Network' and key == 'Gateway':
            result.append([None, ip_or_none(value), None])
        elif section == 'Route':
            if key is None:
                current = [None, None, None]
                result.append(current)
            elif key == 'Destination':
                current[0] = _net_or_none(value)
            elif key == 'Gateway':
                current[1] = ip_or_none(value)
            elif key == 'Metric':
                current[2] = int(value) if value.isdigit() else None
    return [tuple(item) for item in result]


def _dhcp_families(value):
    value = value.strip().lower()
    if value in ('yes', 'true', 'on', '1', 'both'):
        return (4, 6)
    return {'ipv4': (4,), 'ipv6': (6,)}.get(value, ())


def networkd_gives_route(text, dst):
    """Why a .network file (with its drop-ins, concatenated) gives the host a route to dst, or None.

    A [Route] with that Destination= (none or a zero-length one for the default route), a
    [Network] Gateway= for the default route, or, for the default route, DHCP (and IPv6 router
    advertisements, on unless IPv6AcceptRA=no) that may bring one. Our own drop-ins are not in text."""
    for route_dst, gateway, _metric in parse_networkd_routes(text):
        if route_dst is None and gateway is None:
            continue
        if (route_dst or gateway).version != dst.version:
            continue
        if (route_dst is None and dst.prefixlen == 0) or route_dst == dst:
            return 'a route to %s (Gateway=%s)' % ('default' if dst.prefixlen == 0 else dst, gateway or 'none')
    if dst.prefixlen == 0:
        entries = parse_unit(text)
        for section, key, value in entries:
            if section == 'Network' and key == 'DHCP' and dst.version in _dhcp_families(value):
                return 'DHCP=%s' % value
        if dst.version == 6:
            accept = [value for section, key, value in entries if section == 'Network' and key == 'IPv6AcceptRA']
            if accept and accept[-1].lower() in ('yes', 'true', 'on', '1'):
                return 'IPv6AcceptRA=%s' % accept[-1]
    return None


def network_text(network_path, skip_prefix):
    """A .network file with its drop-ins from every networkd directory, those starting with skip_prefix left out."""
    name = os.path.basename(network_path)
    parts = [read_text(network_path) or '']
    dropins = {}
    for directory in NETWORKD_DIRS:
        for path in glob.glob(os.path.join(directory, name + '.d', '*.conf')):
            dropins.setdefault(os.path.basename(path), path)
    for base in sorted(dropins):
        if not base.startswith(skip_prefix):
            parts.append(read_text(dropins[base]) or '')
    return '\n'.join(parts)


def links_giving_routes(owner, names, destinations):
    """[(link name, why)] of the links networkd runs whose .network file gives a route to one of the destinations."""
    links = []
    if not os.path.exists(NETWORKD_STATE):
        return links
    for index in sorted(names):
        applied = networkd_link_file(index)
        if not applied or names[index] == 'lo':
            continue
        text = network_text(applied, owner.dropin_prefix)
        for dst in destinations:
            why = networkd_gives_route(text, dst)
            if why:
                links.append((names[index], '%s: %s' % (applied, why)))
                break
    return links


class Networkd(object):
    """systemd-networkd as a back end of _persist."""

    name = 'networkd'
    probe_text = 'systemd-networkd is neither running (%s) nor enabled' % NETWORKD_STATE

    def in_use(self, root=''):
        return networkd_in_use(root)

    def unusable(self, root=''):
        # Files written while networkd is stopped are read when it starts: nothing to refuse.
        return None

    def device_file(self, device, index, warn):
        name, path, notes = networkd_device_file(device, networkd_files(), networkd_link_file(index))
        for note in notes:
            warn(note)
        return name, path

    def plan_addresses(self, owner, device, index, wanted, state, warn):
        """({path: content or None}, [paths holding the addresses], the .network file or None)."""
        plan, holding, network_file = {}, [], None
        if state == 'absent':
            for iface in wanted:
                for path in _dropins_of(_address_pattern(owner, iface)):
                    plan[path] = None
            base = networkd_base_path(device)
            if owner.create_network_file and os.path.exists(base):
                if not [p for p in glob.glob(os.path.join(base + '.d', '*')) if p not in plan]:
                    plan[base] = None
            return plan, holding, network_file
        if owner.create_network_file:
            target, note = networkd_target(device, networkd_files())
            if note:
                warn(note)
            if target == NETWORKD_BASE_TEMPLATE % device:
                plan[networkd_base_path(device)] = render_networkd_base(owner, device)
                holding.append(networkd_base_path(device))
        else:
            target, network_file = self.device_file(device, index, warn)
        dropin_dir = networkd_dropin_dir(target)
        for iface in wanted:
            path = os.path.join(dropin_dir, address_dropin_name(owner, iface))
            plan[path] = render_address_dropin(owner, iface)
            holding.append(path)
            # The same address with another prefix (or, for an exclusive owner, on another device's
            # file) from an earlier call goes.
            scope = '*.network.d' if owner.exclusive else os.path.basename(dropin_dir)
            for other in _dropins_of(_address_pattern(owner, iface), scope):
                if other != path:
                    plan[other] = None
        return plan, holding, network_file

    def plan_routes(self, owner, routes, index, explicit_metric, state, warn):
        """The same for nat_route's routes (one drop-in per destination and metric)."""
        plan, holding, network_file = {}, [], None
        if state == 'absent':
            for route in routes:
                for path in _dropins_of(route_dropin_name(owner, route)):
                    if route.gateway in [gw for _dst, gw, _m in parse_networkd_routes(read_text(path))]:
                        plan[path] = None
            return plan, holding, network_file
        target, network_file = self.device_file(routes[0].device, index, warn)
        for route in routes:
            path = os.path.join(networkd_dropin_dir(target), route_dropin_name(owner, route))
            plan[path] = render_route_dropin(owner, route, explicit_metric)
            holding.append(path)
            for other in _dropins_of(route_dropin_name(owner, route)):
                if other != path:
                    plan[other] = None
        return plan, holding, network_file

    def reload(self, module, paths):
        """networkctl reload, once, when a file under /etc/systemd/network changed and networkd runs."""
        if not any(path.startswith(NETWORKD_ETC + '/') for path in paths) or not os.path.exists(NETWORKD_STATE):
            return None
        networkctl = module.get_bin_path('networkctl')
        if networkctl is None:
            return 'networkctl not found: systemd-networkd reads the new files at its next reload'
        rc, out, err = module.run_command([networkctl, 'reload'])
        if rc != 0:
            return 'networkctl reload failed (rc=%d): %s' % (rc, (err or out).strip())
        return None


BACKEND = Networkd()
