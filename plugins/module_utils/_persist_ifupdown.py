# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ifupdown back end of the persistence engine (_persist): a file per device in
/etc/network/interfaces.d with `iface <device> inet|inet6 static` stanzas for addresses, or an
`inet|inet6 manual` stanza with `up ip route replace` lines for routes.

ifupdown applies every stanza of an interface when it brings the interface up (interfaces(5)),
so the stanzas sit next to the host's own. Refused on a host that does not run ifupdown, or whose
/etc/network/interfaces does not read interfaces.d: the file would never be read at boot.

Private to this collection: its interface may change without notice. Readers take a root prefix for unit tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import ipaddress
import os

from ansible_collections.lvs.cluster.plugins.module_utils._persist import plan_device_route_files, read_text
from ansible_collections.lvs.cluster.plugins.module_utils._rtnetlink import Route, ip_or_none

IFUPDOWN_INTERFACES = '/etc/network/interfaces'
IFUPDOWN_DIR = '/etc/network/interfaces.d'
IFUP = ('/sbin/ifup', '/usr/sbin/ifup')
# ifupdown runs at boot from networking.service; /run/network/ifstate exists once it ran.
ENABLED_LINKS = ('/etc/systemd/system/multi-user.target.wants/networking.service',
                 '/etc/systemd/system/network-online.target.wants/networking.service')
IFSTATE = '/run/network/ifstate'
DEFAULT_METRIC = {4: 0, 6: 1024}
STANZA_WORDS = ('iface', 'auto', 'allow-hotplug', 'allow-auto', 'mapping', 'source', 'source-directory')


def safe_name(device):
    """The device name as run-parts accepts it in a file name (letters, digits, '_' and '-'; no dot,
    since `source-directory` skips names with dots)."""
    return ''.join(char if char.isalnum() or char in '_-' else '_' for char in device)


def ifupdown_path(owner, device):
    return os.path.join(IFUPDOWN_DIR, owner.ifupdown_template % safe_name(device))


def ifupdown_in_use(root=''):
    """ifupdown is installed (interfaces file and ifup) and runs at boot (networking.service
    enabled) or ran this boot."""
    if not os.path.isfile(root + IFUPDOWN_INTERFACES) or not any(os.path.exists(root + p) for p in IFUP):
        return False
    return any(os.path.lexists(root + p) for p in ENABLED_LINKS + (IFSTATE,))


def ifupdown_sources_dir(text):
    """True when /etc/network/interfaces reads /etc/network/interfaces.d (Debian's default)."""
    for raw in (text or '').splitlines():
        words = raw.split()
        if len(words) < 2:
            continue
        if words[0] == 'source' and words[1].startswith(IFUPDOWN_DIR + '/'):
            return True
        if words[0] == 'source-directory' and words[1].rstrip('/') in (IFUPDOWN_DIR, 'interfaces.d'):
            return True
    return False


def ifupdown_brings_up(device, texts):
    """True when one of the texts has an auto/allow-auto/allow-hotplug line naming the device."""
    for text in texts:
        for raw in (text or '').splitlines():
            words = raw.split()
            if words and words[0] in ('auto', 'allow-auto', 'allow-hotplug') and device in words[1:]:
                return True
    return False


def _family_word(version):
    return 'inet' if version == 4 else 'inet6'


def render_addresses(owner, device, ifaces):
    """One `iface <device> inet|inet6 static` stanza per address; an `auto <device>` line when the
    owner brings the device up itself (lo_vip: Debian's interfaces file has no `auto lo`, and a
    second one is harmless). None when there is no address left (the file goes)."""
    if not ifaces:
        return None
    lines = ['# %s: virtual IPs on %s, added when ifupdown brings %s up.\n' % (owner.mark, device, device)]
    if owner.auto_line:
        lines.append('auto %s\n' % device)
    for iface in sorted(ifaces, key=lambda i: (i.ip.version, int(i.ip), i.network.prefixlen)):
        lines.append('iface %s %s static\n    address %s/%d\n'
                     % (device, _family_word(iface.ip.version), iface.ip, iface.network.prefixlen))
    return ''.join(lines)


def parse_addresses(text, device):
    """Addresses of the `iface <device> inet|inet6 static` stanzas of our file."""
    result = []
    current = False
    for raw in (text or '').splitlines():
        words = raw.split()
        if not words or words[0].startswith('#'):
            continue
        if words[0] in STANZA_WORDS:
            current = words[0] == 'iface' and len(words) >= 4 and words[1] == device and words[3] == 'static'
            continue
        if current and words[0] == 'address' and len(words) >= 2:
            try:
                result.append(ipaddress.ip_interface(words[1]))
            except ValueError:
                continue
    return result


def ip_route_words(route):
    """The arguments of `ip route replace` and `ip route del` for the route."""
    head = ['ip', '-6'] if route.dst.version == 6 else ['ip']
    return head, [str(route.dst), 'via', str(route.gateway), 'dev', route.device, 'metric', str(route.metric)]


def render_routes(owner, device, routes):
    """One `iface <device> inet|inet6 manual` stanza per family with an `up ip route replace` and a
    `down ip route del` line per route, run when the host's own configuration brings the device up."""
    if not routes:
        return None
    lines = ['# %s: routes via %s, set when ifupdown brings %s up.\n' % (owner.mark, device, device)]
    for family in (4, 6):
        chosen = sorted((r for r in routes if r.dst.version == family),
                        key=lambda r: (int(r.dst.network_address), r.dst.prefixlen, r.metric))
        if not chosen:
            continue
        lines.append('iface %s %s manual\n' % (device, _family_word(family)))
        for route in chosen:
            head, tail = ip_route_words(route)
            lines.append('    up %s\n' % ' '.join(head + ['route', 'replace'] + tail))
            lines.append('    down %s || true\n' % ' '.join(head + ['route', 'del'] + tail))
    return ''.join(lines)


def parse_routes(text, device):
    """The routes of the `up ip [-6] route replace DST via GW dev DEV metric M` lines of our file."""
    result = []
    for raw in (text or '').splitlines():
        words = raw.split()
        if len(words) < 2 or words[0] != 'up' or words[1] != 'ip':
            continue
        words = [w for w in words[2:] if w not in ('-6', '-4')]
        if words[:2] != ['route', 'replace'] or len(words) < 3:
            continue
        args = dict(zip(words[3::2], words[4::2]))
        try:
            dst = ipaddress.ip_network(words[2], strict=False) if words[2] != 'default' else None
        except ValueError:
            dst = None
        gateway = ip_or_none(args.get('via', ''))
        if dst is None or gateway is None or args.get('dev') != device:
            continue
        metric = args.get('metric', '')
        result.append(Route(dst, int(metric) if metric.isdigit() else DEFAULT_METRIC[dst.version], gateway, device))
    return result


def gateway_routes(text):
    """[Route] of the default routes the host's own ifupdown stanzas give: the `gateway` line (and
    `metric` line) of each `iface DEV inet|inet6 static` stanza, as ifupdown's static method sets them."""
    stanzas = []
    stanza = None
    for raw in (text or '').splitlines():
        words = raw.split()
        if not words or words[0].startswith('#'):
            continue
        if words[0] in STANZA_WORDS:
            stanza = None
            if words[0] == 'iface' and len(words) >= 4 and words[2] in ('inet', 'inet6') and words[3] == 'static':
                stanza = {'device': words[1], 'family': 4 if words[2] == 'inet' else 6, 'gateway': None, 'metric': None}
                stanzas.append(stanza)
            continue
        if stanza is not None and words[0] == 'gateway' and len(words) >= 2:
            stanza['gateway'] = ip_or_none(words[1])
        elif stanza is not None and words[0] == 'metric' and len(words) >= 2 and words[1].isdigit():
            stanza['metric'] = int(words[1])
    routes = []
    for item in stanzas:
        if item['gateway'] is None or item['gateway'].version != item['family']:
            continue
        dst = ipaddress.ip_network('0.0.0.0/0' if item['family'] == 4 else '::/0')
        metric = item['metric'] if item['metric'] is not None else DEFAULT_METRIC[item['family']]
        routes.append(Route(dst, metric, item['gateway'], item['device']))
    return routes


def host_texts(skip_prefix=None):
    """The host's own ifupdown configuration: the interfaces file and interfaces.d (ours left out)."""
    texts = [read_text(IFUPDOWN_INTERFACES)]
    for path in sorted(glob.glob(os.path.join(IFUPDOWN_DIR, '*'))):
        if skip_prefix is None or not os.path.basename(path).startswith(skip_prefix):
            texts.append(read_text(path))
    return texts


class Ifupdown(object):
    """ifupdown as a back end of _persist."""

    name = 'ifupdown'
    probe_text = 'ifupdown is not installed or networking.service not enabled'

    def in_use(self, root=''):
        return ifupdown_in_use(root)

    def unusable(self, root=''):
        if not ifupdown_in_use(root):
            return ('this host does not run ifupdown (%s and ifup installed, networking.service enabled), so the '
                    'file would never be read at boot' % IFUPDOWN_INTERFACES)
        if not ifupdown_sources_dir(read_text(IFUPDOWN_INTERFACES, root)):
            return ('%s does not read %s (add "source %s/*"), so the file would never be read at boot'
                    % (IFUPDOWN_INTERFACES, IFUPDOWN_DIR, IFUPDOWN_DIR))
        return None

    @staticmethod
    def _warn_not_brought_up(owner, device, path, warn, what):
        if owner.auto_line:
            return
        paths = [IFUPDOWN_INTERFACES] + sorted(glob.glob(os.path.join(IFUPDOWN_DIR, '*')))
        texts = [read_text(other) for other in paths if other != path]
        if not ifupdown_brings_up(device, texts):
            warn('no auto or allow-hotplug line names %s in %s or %s: ifupdown will not bring it up at boot, '
                 'and the %s will not come back' % (device, IFUPDOWN_INTERFACES, IFUPDOWN_DIR, what))

    def plan_addresses(self, owner, device, index, wanted, state, warn):
        path = ifupdown_path(owner, device)
        old = read_text(path)
        if state == 'absent' and old is None:
            return {}, [], None
        wanted_ips = set(iface.ip for iface in wanted)
        kept = [iface for iface in parse_addresses(old, device) if iface.ip not in wanted_ips]
        if state == 'absent':
            return {path: render_addresses(owner, device, kept)}, [], None
        self._warn_not_brought_up(owner, device, path, warn, 'addresses')
        return {path: render_addresses(owner, device, kept + list(wanted))}, [path], None

    def plan_routes(self, owner, routes, index, explicit_metric, state, warn):
        device_files = []
        for path in sorted(glob.glob(os.path.join(IFUPDOWN_DIR, owner.ifupdown_template % '*'))):
            device = next((line.split()[1] for line in (read_text(path) or '').splitlines()
                           if len(line.split()) >= 2 and line.split()[0] == 'iface'), None)
            if device is not None:
                device_files.append((path, device))
        plan, held = plan_device_route_files(routes, state, device_files, parse_routes,
                                             lambda device, kept: render_routes(owner, device, kept),
                                             lambda device: ifupdown_path(owner, device))
        if state == 'present':
            self._warn_not_brought_up(owner, routes[0].device, held[0], warn, 'routes')
        return plan, held, None

    def reload(self, module, paths):
        # ifupdown reads its files only when it brings an interface up: the kernel state is set already.
        return None


BACKEND = Ifupdown()
