# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers for the arp_sysctl module: sysctl key paths, the kernel's effective-value
rule, sysctl.d file rendering and parsing, and systemd-sysctl precedence.

Private to this collection: its interface may change without notice.
Nothing here writes to the system; the readers take their root directories as arguments
so unit tests can point them at a temporary tree.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
import re

# The keys this collection manages, with the values the kernel accepts.
KEY_RANGES = {
    'arp_ignore': (0, 8),
    'arp_announce': (0, 2),
    'rp_filter': (0, 2),
}
KEY_ORDER = ('arp_ignore', 'arp_announce', 'rp_filter')

# Pseudo-interfaces of /proc/sys/net/ipv4/conf: 'all' is combined with every interface's own
# value, 'default' is what interfaces created later start with.
ALL = 'all'
DEFAULT = 'default'
PSEUDO_INTERFACES = (ALL, DEFAULT)

# A value the kernel starts with for all three keys in 'all' and 'default'.
KERNEL_DEFAULT = 0

CONF_DIR = 'net/ipv4/conf'
MANAGED_DIR = '/etc/sysctl.d'

# systemd-sysctl's search path, highest precedence first (a file name in an earlier directory
# hides the same name in later ones). /lib/sysctl.d only matters on hosts without merged /usr;
# procps' `sysctl --system` reads the same list and /etc/sysctl.conf last.
SYSCTL_DIRS = (
    '/etc/sysctl.d',
    '/run/sysctl.d',
    '/usr/local/lib/sysctl.d',
    '/usr/lib/sysctl.d',
    '/lib/sysctl.d',
)
SYSCTL_CONF = '/etc/sysctl.conf'

# Linux interface names: at most 15 bytes, no '/', no whitespace, not '.' or '..'.
IFNAMSIZ_MAX = 15
_IFNAME_BAD_CHARS = re.compile(r'[/\s:]')
_FILE_NAME_OK = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.@+-]*\.conf$')


class SysctlError(ValueError):
    """A bad option value; the message names the option."""


def validate_value(key, value):
    """Return value as int, or raise SysctlError naming the option and its range."""
    low, high = KEY_RANGES[key]
    if isinstance(value, bool):
        raise SysctlError('%s must be an integer from %d to %d, got %r' % (key, low, high, value))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SysctlError('%s must be an integer from %d to %d, got %r' % (key, low, high, value))
    if number < low or number > high:
        raise SysctlError('%s must be an integer from %d to %d, got %d' % (key, low, high, number))
    return number


def validate_interface_name(name, option='interfaces'):
    """Raise SysctlError unless name can be a Linux interface name."""
    if not isinstance(name, str) or not name:
        raise SysctlError('%s: an interface name must be a non-empty string, got %r' % (option, name))
    if name in ('.', '..') or len(name.encode('utf-8')) > IFNAMSIZ_MAX or _IFNAME_BAD_CHARS.search(name):
        raise SysctlError(
            "%s: %r is not a valid interface name (at most %d bytes, no '/', ':' or whitespace)"
            % (option, name, IFNAMSIZ_MAX))
    return name


def validate_sysctl_file(path, option='sysctl_file'):
    """Return the normalized path, or raise SysctlError: it must be a .conf file directly in /etc/sysctl.d."""
    if not isinstance(path, str) or not path:
        raise SysctlError('%s must be a path in %s ending in .conf' % (option, MANAGED_DIR))
    normal = os.path.normpath(path)
    if not os.path.isabs(path) or os.path.dirname(normal) != MANAGED_DIR:
        raise SysctlError('%s must be a file directly in %s (systemd-sysctl reads no other place for local '
                          'settings and does not descend into subdirectories), got %r' % (option, MANAGED_DIR, path))
    if not _FILE_NAME_OK.match(os.path.basename(normal)):
        raise SysctlError('%s must end in .conf and have a plain file name (letters, digits, "_.@+-", not starting '
                          'with a dot), got %r: systemd-sysctl ignores other names' % (option, path))
    return normal


def unique_interfaces(names):
    """Named interfaces in first-seen order, without duplicates and without all/default
    (those two are always managed)."""
    seen = []
    for name in names or []:
        validate_interface_name(name)
        if name in PSEUDO_INTERFACES or name in seen:
            continue
        seen.append(name)
    return seen


def targets(interfaces):
    """all, default, then the named interfaces: the order values are written and rendered."""
    return list(PSEUDO_INTERFACES) + unique_interfaces(interfaces)


def key_path(interface, key):
    """The key in its canonical /proc/sys-relative form: net/ipv4/conf/eth0.100/arp_ignore."""
    return '%s/%s/%s' % (CONF_DIR, interface, key)


def file_key(interface, key):
    """The key as written into a sysctl.d file.

    The dotted form is the familiar one, but a dot inside an interface name would be read as
    a separator, so such names use the slash form, in which dots are literal."""
    if '.' in interface:
        return key_path(interface, key)
    return key_path(interface, key).replace('/', '.')


def normalize_key(text):
    """A sysctl.d key in the /proc/sys-relative slash form, the way systemd-sysctl and procps
    read it: if the first separator is '/', the key is already in slash form; if it is '.',
    dots and slashes swap (so net.ipv4.conf.eth0/100.rp_filter names eth0.100)."""
    key = text.strip().lstrip('/')
    if key.startswith('proc/sys/'):
        key = key[len('proc/sys/'):]
    first = re.search(r'[./]', key)
    if first is not None and first.group(0) == '.':
        key = key.translate(str.maketrans('./', '/.'))
    return re.sub(r'/+', '/', key).strip('/')


def effective_value(all_value, interface_value):
    """The value the kernel acts on for arp_ignore, arp_announce and rp_filter: the larger of
    the 'all' value and the interface's own (IN_DEV_MAXCONF in the kernel)."""
    if all_value is None:
        return interface_value
    if interface_value is None:
        return all_value
    return max(int(all_value), int(interface_value))


def desired_values(interfaces, values):
    """{key_path: value} for every target and every key whose value is not None."""
    result = {}
    for interface in targets(interfaces):
        for key in KEY_ORDER:
            if values.get(key) is not None:
                result[key_path(interface, key)] = int(values[key])
    return result


def split_key_path(path):
    """('eth0.100', 'arp_ignore') from net/ipv4/conf/eth0.100/arp_ignore, or None for other keys."""
    prefix = CONF_DIR + '/'
    if not path.startswith(prefix):
        return None
    rest = path[len(prefix):]
    interface, sep, key = rest.rpartition('/')
    if not sep or '/' in interface or not interface:
        return None
    return interface, key


MANAGED_HEADER = (
    '# Managed by Ansible (lvs.cluster.arp_sysctl): ARP and reverse-path filter settings\n'
    '# for an LVS real server. Local changes are overwritten; state=absent removes this file\n'
    '# and puts back what the rest of the sysctl configuration says.\n'
)


def render_file(values):
    """The managed sysctl.d file for {key_path: value}: all, default, then interfaces in the order
    given (dict insertion order), keys in a fixed order."""
    lines = [MANAGED_HEADER]
    for path, value in values.items():
        interface, key = split_key_path(path)
        lines.append('%s = %d\n' % (file_key(interface, key), int(value)))
    return ''.join(lines)


class Assignment(object):
    """One line of a sysctl.d file."""

    __slots__ = ('key', 'value', 'ignore_failure', 'exclude', 'source')

    def __init__(self, key, value, ignore_failure=False, exclude=False, source=None):
        self.key = key
        self.value = value
        self.ignore_failure = ignore_failure
        self.exclude = exclude
        self.source = source

    @property
    def is_glob(self):
        return any(char in self.key for char in '*?[')

    def __repr__(self):
        return 'Assignment(%r, %r, exclude=%r)' % (self.key, self.value, self.exclude)


def parse_text(text, source=None):
    """Assignments of a sysctl.d file, in order. Comments start with '#' or ';'. A leading '-'
    means "ignore failure"; '-key' with no '=' excludes key from the glob assignments
    (systemd >= 252). Lines that are not assignments are skipped, as systemd-sysctl does."""
    result = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in '#;':
            continue
        ignore_failure = line.startswith('-')
        if ignore_failure:
            line = line[1:].lstrip()
        if '=' not in line:
            if ignore_failure and line:
                result.append(Assignment(normalize_key(line), None, True, True, source))
            continue
        key, _sep, value = line.partition('=')
        key = normalize_key(key)
        if not key:
            continue
        result.append(Assignment(key, value.strip(), ignore_failure, False, source))
    return result


def config_files(dirs=SYSCTL_DIRS, sysctl_conf=SYSCTL_CONF, exclude=(), root=''):
    """The files systemd-sysctl reads, in the order it reads them.

    *.conf files from dirs, a name in an earlier directory hiding the same name later, sorted by
    file name; /etc/sysctl.conf last unless already reached through a symlink (Debian links
    /etc/sysctl.d/99-sysctl.conf to it). Paths in exclude (the file being removed) are left out.
    Files that are masked (symlinks to /dev/null) or unreadable read as empty later."""
    chosen = {}
    seen_dirs = set()
    for directory in dirs:
        real_dir = os.path.realpath(root + directory)
        if real_dir in seen_dirs or not os.path.isdir(root + directory):
            continue
        seen_dirs.add(real_dir)
        for name in os.listdir(root + directory):
            if not name.endswith('.conf') or name in chosen:
                continue
            chosen[name] = os.path.join(directory, name)
    excluded = set(os.path.normpath(path) for path in exclude)
    ordered = [chosen[name] for name in sorted(chosen)]
    result = [path for path in ordered if path not in excluded]
    if sysctl_conf and sysctl_conf not in excluded and os.path.exists(root + sysctl_conf):
        target = os.path.realpath(root + sysctl_conf)
        if not any(os.path.realpath(root + path) == target for path in ordered):
            result.append(sysctl_conf)
    return result


def with_file(files, path, sysctl_conf=SYSCTL_CONF):
    """files with path put where systemd-sysctl would read it (by file name), replacing a file of
    the same name; /etc/sysctl.conf stays last."""
    name = os.path.basename(path)
    tail = [f for f in files if f == sysctl_conf]
    others = [f for f in files if f != sysctl_conf and os.path.basename(f) != name]
    position = len(others)
    for index, other in enumerate(others):
        if os.path.basename(other) > name:
            position = index
            break
    return others[:position] + [path] + others[position:] + tail


def read_assignments(files, root='', overrides=None):
    """All assignments of the given files, in reading order; overrides maps a path to the text
    to use instead of the file's (the managed file as it will be after the call)."""
    result = []
    for path in files:
        if overrides and path in overrides:
            text = overrides[path]
        else:
            try:
                with open(root + path, 'r') as handle:
                    text = handle.read()
            except (IOError, OSError, UnicodeDecodeError):
                continue
        result.extend(parse_text(text or '', source=path))
    return result


def _glob_matches(pattern, path):
    """systemd-sysctl expands globs against /proc/sys paths: '*' never crosses a '/'."""
    pattern_parts = pattern.split('/')
    path_parts = path.split('/')
    if len(pattern_parts) != len(path_parts):
        return False
    return all(fnmatch.fnmatchcase(part, pat) for part, pat in zip(path_parts, pattern_parts))


def configured_value(assignments, path):
    """What systemd-sysctl would write to path given the assignments in reading order, or None.

    An explicit assignment of the exact key wins over any glob, whatever the order; among
    explicit assignments the last one read wins. Otherwise the last glob that matches, unless
    an exclusion ('-key' alone) names the key."""
    explicit = None
    from_glob = None
    excluded = False
    for item in assignments:
        if item.exclude:
            if item.key == path:
                excluded = True
            continue
        if item.is_glob:
            if _glob_matches(item.key, path):
                from_glob = item
        elif item.key == path:
            explicit = item
    if explicit is not None:
        return explicit
    if from_glob is not None and not excluded:
        return from_glob
    return None


def _int_or_none(text):
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return None


def restore_values(paths, assignments):
    """{key_path: (value, source)} that state=absent puts back for each path: the value the
    configuration gives the key (source: the file that says so), else the kernel default 0
    (source: 'kernel default').

    0 is also the right fallback for a named interface: the kernel acts on the larger of the
    'all' value and the interface's own, so 0 leaves the interface to whatever 'all' says, and it
    is the value an interface that exists before systemd-sysctl runs (lo, for one) has after a
    reboot."""
    result = {}
    for path in paths:
        found = configured_value(assignments, path)
        value = _int_or_none(found.value) if found is not None else None
        if value is None:
            result[path] = (KERNEL_DEFAULT, 'kernel default')
        else:
            result[path] = (value, found.source)
    return result


INHERITED_SOURCE = 'default (taken when the interface was created)'


def inherited_values(old_text, planned, interfaces, assignments, read):
    """{key_path: (value, INHERITED_SOURCE)} for the interfaces that hold what the old managed file
    gave 'default', for each key whose 'default' the plan changes: they follow 'default' again.

    An interface created after systemd-sysctl ran (after a reboot that is every NIC; lo alone exists
    before) starts with 'default's value and keeps it when 'default' changes later, and the kernel
    acts on the larger of 'all' and the interface's own value: without this, removing the file
    after a reboot would leave every NIC ignoring ARP. Left alone: interfaces the plan names, those
    whose key the configuration sets (exactly or by a glob), and those holding another value.
    read(key_path) gives a running value."""
    old = {}
    for item in parse_text(old_text or ''):
        parts = split_key_path(item.key) if not (item.exclude or item.is_glob) else None
        if parts and parts[0] == DEFAULT and parts[1] in KEY_RANGES and _int_or_none(item.value) is not None:
            old[parts[1]] = _int_or_none(item.value)
    result = {}
    for key in KEY_ORDER:
        new_value = planned.get(key_path(DEFAULT, key))
        if key not in old or new_value is None or new_value == old[key]:
            continue
        for name in interfaces:
            path = key_path(name, key)
            if path in planned or configured_value(assignments, path) is not None:
                continue
            if read(path) == old[key]:
                result[path] = (new_value, INHERITED_SOURCE)
    return result


def managed_paths_from_file(text):
    """The net/ipv4/conf/*/{arp_ignore,arp_announce,rp_filter} keys a managed file sets."""
    paths = []
    for item in parse_text(text):
        if item.exclude or item.is_glob:
            continue
        parts = split_key_path(item.key)
        if parts is None or parts[1] not in KEY_RANGES or item.key in paths:
            continue
        paths.append(item.key)
    return paths


def render_values(values):
    """Values as 'key = value' lines in the dotted/slash file form, for diffs."""
    lines = []
    for path, value in values.items():
        parts = split_key_path(path)
        name = file_key(parts[0], parts[1]) if parts else path
        lines.append('%s = %s\n' % (name, '(absent)' if value is None else value))
    return ''.join(lines)


def read_proc_value(path, proc_root='/proc/sys'):
    """The current value of a key path, or None when the file does not exist."""
    try:
        with open(os.path.join(proc_root, path), 'r') as handle:
            return _int_or_none(handle.read())
    except (IOError, OSError):
        return None


def write_proc_value(path, value, proc_root='/proc/sys'):
    """Write a key path's value (the kernel checks it; a refusal raises OSError)."""
    with open(os.path.join(proc_root, path), 'w') as handle:
        handle.write('%d\n' % value)


def list_interfaces(proc_root='/proc/sys'):
    """Interfaces that have an IPv4 conf directory, all/default excluded, sorted."""
    try:
        names = os.listdir(os.path.join(proc_root, CONF_DIR))
    except OSError:
        return []
    return sorted(name for name in names if name not in PSEUDO_INTERFACES)


def effective_report(interfaces, read):
    """{interface: {key: effective value}} for the given interfaces; read(key_path) gives a value
    (the current one, or the one planned in check mode)."""
    report = {}
    for name in interfaces:
        entry = {}
        for key in KEY_ORDER:
            own = read(key_path(name, key))
            if own is None:
                continue
            entry[key] = effective_value(read(key_path(ALL, key)), own)
        if entry:
            report[name] = entry
    return report
