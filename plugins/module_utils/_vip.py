# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for the lo_vip module: virtual IP normalisation and validation, systemd-networkd and
ifupdown persistence files (rendering, parsing, which .network file networkd uses for a
device), and the netlink calls (one pyroute2 IPRoute session). The director_vip section at the
end serves director_vip (and nat_route, through _route): real devices, the host's own .network
file of a device, director drop-ins and ifupdown stanzas, gratuitous ARP.

Private to this collection: its interface may change without notice.
Everything above the Netlink class is pure; readers take a root prefix for unit tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import ipaddress
import os
import tempfile

# Devices a virtual IP may be bound to, and the address family each can carry.
# lo: LVS-DR (both families); tunl0/ip6tnl0: the fallback devices of the ipip and ip6_tunnel
# modules that decapsulate LVS-TUN traffic (IPv4-in-IPv4, and IPv6 inner packets).
DEVICE_FAMILIES = {
    'lo': (4, 6),
    'tunl0': (4,),
    'ip6tnl0': (6,),
}
DEVICE_MODULES = {
    'tunl0': 'ipip',
    'ip6tnl0': 'ip6_tunnel',
}
HOST_PREFIX = {4: 32, 6: 128}

PERSISTENCE_CHOICES = ('auto', 'networkd', 'ifupdown', 'none')

NETWORKD_DIRS = (
    '/etc/systemd/network',
    '/run/systemd/network',
    '/usr/local/lib/systemd/network',
    '/usr/lib/systemd/network',
    '/lib/systemd/network',
)
NETWORKD_ETC = '/etc/systemd/network'
# Sorts before the usual numbered files, so networkd picks it for the device (it uses only the
# first matching .network file, in file-name order).
NETWORKD_BASE_TEMPLATE = '05-lvs-cluster-%s.network'
NETWORKD_DROPIN_PREFIX = 'lvs-vip-'

IFUPDOWN_INTERFACES = '/etc/network/interfaces'
IFUPDOWN_DIR = '/etc/network/interfaces.d'
# No dot in the name: `source-directory` (run-parts rules) skips names with dots.
IFUPDOWN_FILE_TEMPLATE = 'lvs-cluster-vip-%s'

MANAGED_MARK = 'Managed by Ansible (lvs.cluster.lo_vip)'


class VipError(ValueError):
    """A bad option value; the message names the option."""


# ---------------------------------------------------------------- addresses

def normalize_address(text, allow_non_host_prefix=False, option='addresses'):
    """An ipaddress interface object for text ('10.98.0.1', '10.98.0.1/32', 'fd98::1/128').

    No prefix means a host prefix. Other prefixes are refused unless allowed: on lo a /24
    makes the whole /24 local to the host."""
    if not isinstance(text, str) or not text.strip():
        raise VipError('%s: an address must be a non-empty string, got %r' % (option, text))
    raw = text.strip()
    try:
        iface = ipaddress.ip_interface(raw)
    except ValueError as exc:
        raise VipError('%s: %r is not an IPv4 or IPv6 address: %s' % (option, raw, exc))
    ip = iface.ip
    if ip.is_unspecified or ip.is_loopback or ip.is_multicast or ip.is_link_local:
        raise VipError('%s: %s cannot be a virtual IP (unspecified, loopback, multicast and link-local '
                       'addresses are refused)' % (option, ip))
    if ip.version == 6 and ip.ipv4_mapped is not None:
        raise VipError('%s: %s is an IPv4-mapped IPv6 address; give the IPv4 address instead' % (option, ip))
    host = HOST_PREFIX[ip.version]
    if '/' not in raw:
        iface = ipaddress.ip_interface('%s/%d' % (ip, host))
    elif iface.network.prefixlen != host and not allow_non_host_prefix:
        raise VipError('%s: %s is not a host address (/%d); a virtual IP is bound with /%d, '
                       'set allow_non_host_prefix=true to bind a wider prefix'
                       % (option, raw, host, host))
    return iface


def address_text(iface):
    """'10.98.0.1/32', 'fd98::1/128' (compressed IPv6)."""
    return '%s/%d' % (iface.ip, iface.network.prefixlen)


def normalize_addresses(texts, device, allow_non_host_prefix=False):
    """Validated, deduplicated interfaces in the order given; raises VipError naming the option."""
    if device not in DEVICE_FAMILIES:
        raise VipError('device: %r is not one of %s' % (device, ', '.join(sorted(DEVICE_FAMILIES))))
    if not texts:
        raise VipError('addresses: at least one address is required')
    result = []
    by_ip = {}
    for text in texts:
        iface = normalize_address(text, allow_non_host_prefix)
        if iface.ip.version not in DEVICE_FAMILIES[device]:
            raise VipError('addresses: %s is IPv%d but device %s carries only IPv%d virtual IPs%s'
                           % (address_text(iface), iface.ip.version, device, DEVICE_FAMILIES[device][0],
                              '; use device=ip6tnl0 for IPv6 LVS-TUN' if device == 'tunl0'
                              else '; use device=tunl0 for IPv4 LVS-TUN' if device == 'ip6tnl0' else ''))
        known = by_ip.get(iface.ip)
        if known is not None:
            if known.network.prefixlen != iface.network.prefixlen:
                raise VipError('addresses: %s is given twice with different prefixes (%s and %s)'
                               % (iface.ip, address_text(known), address_text(iface)))
            continue
        by_ip[iface.ip] = iface
        result.append(iface)
    return result


def missing_device_message(device):
    module = DEVICE_MODULES.get(device)
    if module is None:
        return 'device: %s does not exist' % device
    return ('device: %s does not exist: the %s kernel module is not loaded (modprobe %s; list it in '
            '/etc/modules-load.d/ to load it at boot), or net.core.fb_tunnels_only_for_init_net keeps the '
            'fallback device out of this network namespace' % (device, module, module))


def sort_key(iface):
    return (iface.ip.version, int(iface.ip), iface.network.prefixlen)


# ---------------------------------------------------------------- systemd-networkd

def parse_unit(text):
    """[(section, key, value)] of a systemd unit-style file, in order (keys may repeat)."""
    entries = []
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in '#;':
            continue
        if line.startswith('[') and line.endswith(']'):
            section = line[1:-1].strip()
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
    cleaned = [pattern.lstrip('!') for pattern in patterns]
    return cleaned, inverted


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


def read_text(path, root=''):
    try:
        with open(root + path, 'r') as handle:
            return handle.read()
    except (IOError, OSError, UnicodeDecodeError):
        return None


def networkd_target(device, files, root=''):
    """Which .network file the VIP drop-ins attach to: (file name, exists, note).

    networkd applies only the first .network file that matches a link. If a file that names
    the device literally sorts before ours, the drop-ins go to it (the host's own configuration
    for the device stays in force). Our own base file is created otherwise. A file matching the
    device only by a pattern (Name=*) and sorting first would hide ours, and drop-ins on it would
    put the VIPs on every link it matches: that is an error (VipError)."""
    ours = NETWORKD_BASE_TEMPLATE % device
    for name, path in files:
        if name == ours:
            return ours, True, None
        text = read_text(path, root)
        kind = name_match(text, device) if text is not None else None
        if kind is None:
            continue
        # The first file matching the device is the one networkd uses for it today.
        if kind == 'exact':
            return name, False, 'drop-ins attached to %s, the file networkd already uses for %s' % (path, device)
        if name < ours:
            raise VipError(
                'persistence: %s matches %s by a pattern and sorts before %s, so systemd-networkd would '
                'ignore a file of ours, and drop-ins on it would add the virtual IPs to every link it matches. '
                'Give %s a .network file of its own that sorts first, or set persistence=none'
                % (path, device, ours, device))
        return ours, False, '%s takes %s over from %s, which matches it by a pattern' % (ours, device, path)
    return ours, False, None


def networkd_base_path(device):
    return os.path.join(NETWORKD_ETC, NETWORKD_BASE_TEMPLATE % device)


def networkd_dropin_dir(network_name):
    return os.path.join(NETWORKD_ETC, network_name + '.d')


def networkd_dropin_name(iface):
    """lvs-vip-10.98.0.1-32.conf, lvs-vip-fd98--1-128.conf (':' becomes '-')."""
    return '%s%s-%d.conf' % (NETWORKD_DROPIN_PREFIX, str(iface.ip).replace(':', '-'), iface.network.prefixlen)


def render_networkd_base(device):
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
        % (MANAGED_MARK, device, NETWORKD_BASE_TEMPLATE % device, device))


def render_networkd_dropin(iface):
    return '# %s\n[Address]\nAddress=%s\n' % (MANAGED_MARK, address_text(iface))


def parse_networkd_addresses(text):
    """Addresses of the [Address] sections and [Network] Address= lines of a .network (drop-in)."""
    result = []
    for section, key, value in parse_unit(text or ''):
        if key == 'Address' and section in ('Address', 'Network'):
            try:
                result.append(ipaddress.ip_interface(value))
            except ValueError:
                continue
    return result


def networkd_in_use(root=''):
    """systemd-networkd is running now or enabled for boot."""
    if os.path.exists(root + '/run/systemd/netif/state'):
        return True
    wants = root + '/etc/systemd/system'
    for target in ('multi-user.target.wants', 'network-online.target.wants', 'sysinit.target.wants'):
        if os.path.lexists(os.path.join(wants, target, 'systemd-networkd.service')):
            return True
    return False


# ---------------------------------------------------------------- ifupdown

def ifupdown_path(device):
    return os.path.join(IFUPDOWN_DIR, IFUPDOWN_FILE_TEMPLATE % device)


def ifupdown_in_use(root=''):
    if not os.path.isfile(root + IFUPDOWN_INTERFACES):
        return False
    return any(os.path.exists(root + path) for path in ('/sbin/ifup', '/usr/sbin/ifup'))


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


def render_ifupdown(device, ifaces):
    """One stanza per address: ifupdown applies every stanza of an interface when it brings it
    up (interfaces(5)), next to lo's `inet loopback` one. The `auto` line is ours too: the
    interfaces file of the ifupdown package has no `auto lo`, and a second one is harmless."""
    if not ifaces:
        return None
    lines = ['# %s: virtual IPs on %s, added when ifupdown brings %s up.\n' % (MANAGED_MARK, device, device),
             'auto %s\n' % device]
    for iface in sorted(ifaces, key=sort_key):
        lines.append('iface %s %s static\n    address %s\n'
                     % (device, 'inet' if iface.ip.version == 4 else 'inet6', address_text(iface)))
    return ''.join(lines)


def parse_ifupdown(text, device):
    """Addresses of the `iface <device> inet|inet6 static` stanzas of our file."""
    result = []
    current = False
    for raw in (text or '').splitlines():
        words = raw.split()
        if not words or words[0].startswith('#'):
            continue
        if words[0] in ('iface', 'auto', 'allow-hotplug', 'mapping', 'source', 'source-directory'):
            current = words[0] == 'iface' and len(words) >= 4 and words[1] == device and words[3] == 'static'
            continue
        if current and words[0] == 'address' and len(words) >= 2:
            try:
                result.append(ipaddress.ip_interface(words[1]))
            except ValueError:
                continue
    return result


def detect_persistence(root=''):
    """'networkd' when it runs or is enabled, else 'ifupdown' when installed, else None."""
    if networkd_in_use(root):
        return 'networkd'
    if ifupdown_in_use(root):
        return 'ifupdown'
    return None


# ---------------------------------------------------------------- planning

def plan_addresses(current, wanted, state):
    """(to_add, to_remove) for the device.

    current: interfaces on the device. present: each wanted address with exactly its prefix; the
    same address with another prefix is replaced. absent: the address goes, whatever its prefix."""
    to_add = []
    to_remove = []
    current_set = set((c.ip, c.network.prefixlen) for c in current)
    for iface in wanted:
        same_ip = [c for c in current if c.ip == iface.ip]
        if state == 'present':
            if (iface.ip, iface.network.prefixlen) not in current_set:
                to_add.append(iface)
            to_remove.extend(c for c in same_ip if c.network.prefixlen != iface.network.prefixlen)
        else:
            to_remove.extend(same_ip)
    return to_add, to_remove


# ---------------------------------------------------------------- netlink

IFF_UP = 0x1


class Netlink(object):
    """The few rtnetlink calls lo_vip needs, over one IPRoute socket."""

    def __init__(self):
        from pyroute2 import IPRoute  # imported here: the module checks for pyroute2 first
        self.ipr = IPRoute()

    def close(self):
        self.ipr.close()

    def link(self, device):
        """(index, is_up) or None when the device does not exist."""
        indexes = self.ipr.link_lookup(ifname=device)
        if not indexes:
            return None
        index = indexes[0]
        message = list(self.ipr.get_links(index))[0]
        return index, bool(message['flags'] & IFF_UP)

    def set_up(self, index):
        self.ipr.link('set', index=index, state='up')

    def addresses(self, index):
        result = []
        for message in self.ipr.get_addr(index=index):
            address = message.get_attr('IFA_LOCAL') or message.get_attr('IFA_ADDRESS')
            if address is None:
                continue
            result.append(ipaddress.ip_interface('%s/%d' % (address, message['prefixlen'])))
        return result

    def other_devices(self, index, ips):
        """{ip: [device names]} for the given ips bound to devices other than index."""
        names = dict((link['index'], link.get_attr('IFLA_IFNAME')) for link in self.ipr.get_links())
        found = {}
        for message in self.ipr.get_addr():
            if message['index'] == index:
                continue
            address = message.get_attr('IFA_LOCAL') or message.get_attr('IFA_ADDRESS')
            if address is None:
                continue
            ip = ipaddress.ip_address(address)
            if ip in ips:
                found.setdefault(ip, []).append(names.get(message['index'], str(message['index'])))
        return found

    def add(self, index, iface):
        self.ipr.addr('add', index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen)

    def delete(self, index, iface):
        self.ipr.addr('del', index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen)

    def link_flags(self, index):
        """The IFF_* flags of the device."""
        return list(self.ipr.get_links(index))[0]['flags']


# ---------------------------------------------------------------- director_vip (and nat_route)
# A director binds its virtual IPs to a real device (eth0) where they must answer ARP. Persistence
# never creates a .network file for such a device (it would take over the device's configuration):
# drop-ins go to the file networkd already uses for it, and only when that file matches the device
# alone.

IFF_NOARP = 0x80
ARPHRD_ETHER = 1
ETH_P_ARP = 0x0806
NETWORKD_LINKS_STATE = '/run/systemd/netif/links'

DIRECTOR_MARK = 'Managed by Ansible (lvs.cluster.director_vip)'
DIRECTOR_DROPIN_PREFIX = 'lvs-director-vip-'
DIRECTOR_IFUPDOWN_TEMPLATE = 'lvs-cluster-director-vip-%s'


def check_real_device(device, module_hint=True, option='device'):
    """Validate a device name for director_vip/nat_route; the devices of lo_vip are refused."""
    if not isinstance(device, str) or not device:
        raise VipError('%s: a device name is required' % option)
    if (len(device) > 15 or device in ('.', '..') or '/' in device or ':' in device
            or any(char.isspace() for char in device)):
        raise VipError('%s: %r is not a valid interface name (at most 15 characters, no "/", ":" or blanks)'
                       % (option, device))
    if device in DEVICE_FAMILIES and module_hint:
        raise VipError('%s: %s is a real server device; bind real-server virtual IPs with lvs.cluster.lo_vip '
                       '(this module binds them to the director\'s network interface, where they answer ARP)'
                       % (option, device))
    return device


def normalize_director_addresses(texts, allow_non_host_prefix=False):
    """Validated, deduplicated interfaces in the order given (both families); raises VipError."""
    if not texts:
        raise VipError('addresses: at least one address is required')
    result = []
    by_ip = {}
    for text in texts:
        iface = normalize_address(text, allow_non_host_prefix)
        known = by_ip.get(iface.ip)
        if known is not None:
            if known.network.prefixlen != iface.network.prefixlen:
                raise VipError('addresses: %s is given twice with different prefixes (%s and %s)'
                               % (iface.ip, address_text(known), address_text(iface)))
            continue
        by_ip[iface.ip] = iface
        result.append(iface)
    return result


def sole_name(text, device):
    """True when [Match] Name= of a .network file lists exactly the device (no pattern, no other name)."""
    parsed = match_names(text)
    return parsed is not None and parsed == ([device], False)


def networkd_link_file(index, root=''):
    """NETWORK_FILE= of networkd's state file for the link (the file it applied), or None."""
    text = read_text('%s/%d' % (NETWORKD_LINKS_STATE, index), root)
    for raw in (text or '').splitlines():
        key, _sep, value = raw.partition('=')
        if key.strip() == 'NETWORK_FILE' and value.strip():
            return value.strip()
    return None


def networkd_device_file(device, files, applied=None, root=''):
    """(file name, path, notes) of the .network file networkd uses for a real device.

    applied: the NETWORK_FILE networkd reports for the link (authoritative when networkd runs).
    Otherwise the first file whose [Match] Name= matches the device, in networkd's order. The file
    must match the device alone (Name=<device>, nothing else): drop-ins on a file that matches
    other links too would configure them all. No file is created (VipError instead)."""
    notes = []
    if applied:
        text = read_text(applied, root)
        if text is None:
            raise VipError('persistence: %s, the file systemd-networkd applied to %s, cannot be read' % (applied, device))
        if not sole_name(text, device):
            raise VipError('persistence: %s, the file systemd-networkd uses for %s, does not match it alone by '
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
        kind = name_match(text, device)
        if kind is None:
            continue
        if not sole_name(text, device):
            raise VipError('persistence: %s, the first .network file matching %s, matches other links too '
                           '([Match] Name=%s), so a drop-in on it could configure them as well. Give %s a .network '
                           'file of its own, or set persistence=none'
                           % (path, device, ' '.join(('!' if parsed[1] else '') + p for p in parsed[0]), device))
        return name, path, notes
    raise VipError('persistence: no .network file names %s in [Match] Name= (looked in %s). This module adds '
                   'drop-ins to the file the host already uses for the device and does not create one, because a '
                   'new file would take the configuration of %s over. Create one (for example '
                   '/etc/systemd/network/10-%s.network with [Match] Name=%s and the device\'s own addresses), or '
                   'set persistence=ifupdown or none' % (device, ', '.join(NETWORKD_DIRS), device, device, device))


def director_dropin_name(iface):
    """lvs-director-vip-10.97.0.1-32.conf (lo_vip's drop-ins start with lvs-vip-, so neither removes the other's)."""
    return '%s%s-%d.conf' % (DIRECTOR_DROPIN_PREFIX, str(iface.ip).replace(':', '-'), iface.network.prefixlen)


def render_director_dropin(iface):
    return '# %s\n[Address]\nAddress=%s\n' % (DIRECTOR_MARK, address_text(iface))


def ifupdown_safe_name(device):
    """The device name as run-parts accepts it in a file name (letters, digits, '_' and '-')."""
    return ''.join(char if char.isalnum() or char in '_-' else '_' for char in device)


def director_ifupdown_path(device):
    return os.path.join(IFUPDOWN_DIR, DIRECTOR_IFUPDOWN_TEMPLATE % ifupdown_safe_name(device))


def render_director_ifupdown(device, ifaces):
    """One `iface <device> inet|inet6 static` stanza per address and no `auto` line: the stanzas
    are applied when the host's own configuration brings the device up (auto/allow-hotplug)."""
    if not ifaces:
        return None
    lines = ['# %s: virtual IPs on %s, added when ifupdown brings %s up.\n' % (DIRECTOR_MARK, device, device)]
    for iface in sorted(ifaces, key=sort_key):
        lines.append('iface %s %s static\n    address %s\n'
                     % (device, 'inet' if iface.ip.version == 4 else 'inet6', address_text(iface)))
    return ''.join(lines)


def ifupdown_brings_up(device, texts):
    """True when one of the texts has an auto/allow-auto/allow-hotplug line naming the device."""
    for text in texts:
        for raw in (text or '').splitlines():
            words = raw.split()
            if words and words[0] in ('auto', 'allow-auto', 'allow-hotplug') and device in words[1:]:
                return True
    return False


def garp_frames(mac, ip):
    """Two gratuitous ARP frames announcing ip at mac: a request (who-has ip tell ip, RFC 5227's
    announcement) and a reply (ip is-at mac), both to the broadcast address, padded to 60 bytes."""
    import struct
    ip_bytes = ipaddress.IPv4Address(ip).packed
    frames = []
    for opcode, target_mac in ((1, b'\x00' * 6), (2, b'\xff' * 6)):
        frame = (b'\xff' * 6 + mac + struct.pack('!H', ETH_P_ARP)
                 + struct.pack('!HHBBH', ARPHRD_ETHER, 0x0800, 6, 4, opcode)
                 + mac + ip_bytes + target_mac + ip_bytes)
        frames.append(frame + b'\x00' * (60 - len(frame)))
    return frames


def send_gratuitous_arp(device, ips):
    """Send garp_frames for each IPv4 address on device over an AF_PACKET socket.

    Returns None, or why nothing was sent (not an Ethernet device); socket errors propagate."""
    import socket
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))  # pylint: disable=no-member
    try:
        sock.bind((device, ETH_P_ARP))
        hatype, mac = sock.getsockname()[3:5]
        if hatype != ARPHRD_ETHER or len(mac) != 6:
            return '%s is not an Ethernet device (hardware type %d)' % (device, hatype)
        for ip in ips:
            for frame in garp_frames(mac, ip):
                sock.send(frame)
        return None
    finally:
        sock.close()


def write_file_atomic(module, path, content):
    """Write a persistence file: a temporary file beside it, then module.atomic_move (mode 0644)."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(prefix='.ansible-', suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, 'w') as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ----------------------------------------------------------------------------- shared by lo_vip, director_vip, nat_route

def state_diffs(header, before, after, file_changes):
    """The diff list of a call: the kernel state (lines of text) before and after, then each persistence file."""
    diffs = [dict(before_header=header, after_header=header,
                  before=''.join('%s\n' % line for line in before), after=''.join('%s\n' % line for line in after))]
    for path, old, new in file_changes:
        diffs.append(dict(before_header=path, after_header=path, before=old or '', after=new or ''))
    return diffs


def apply_file_changes(module, file_changes):
    """Write or remove persistence files ((path, old, new), new None = remove); an emptied drop-in folder goes too."""
    for path, _old, new in file_changes:
        if new is None:
            os.unlink(path)
            directory = os.path.dirname(path)
            if directory.endswith('.network.d') and not os.listdir(directory):
                os.rmdir(directory)
        else:
            write_file_atomic(module, path, new)


def reload_networkd(module, file_changes, enabled=True):
    """networkctl reload when a file under /etc/systemd/network changed and networkd runs; returns networkctl's path."""
    networkctl = module.get_bin_path('networkctl') if os.path.exists('/run/systemd/netif/state') else None
    if (networkctl and enabled and not module.check_mode
            and any(path.startswith(NETWORKD_ETC + '/') for path, _old, _new in file_changes)):
        rc, out, err = module.run_command([networkctl, 'reload'])
        if rc != 0:
            module.warn('networkctl reload failed (rc=%d): %s' % (rc, (err or out).strip()))
    return networkctl
