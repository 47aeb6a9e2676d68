# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What keepalived's VRRP instances track and run, checked: vrrp scripts, track files, track processes, BFD
sessions, and the script files the role writes; with the value checks _keepalived_vrrp shares (names,
one-line commands, list entries).

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.lvs.cluster.plugins.plugin_utils import _values
from ansible_collections.lvs.cluster.plugins.plugin_utils._values import PlanError

NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$')
SCRIPT_KEYS = ('name', 'script', 'interval', 'timeout', 'weight', 'rise', 'fall', 'user', 'init_fail')
TRACK_FILE_KEYS = ('name', 'file', 'weight', 'init_value')
TRACK_PROCESS_KEYS = ('name', 'process', 'param_match', 'weight', 'quorum', 'quorum_max', 'delay', 'terminate_delay',
                      'fork_delay', 'full_command')
BFD_KEYS = ('name', 'neighbor_ip', 'source_ip', 'min_rx', 'min_tx', 'idle_tx', 'multiplier', 'passive', 'ttl', 'hoplimit',
            'max_hops', 'weight')


def _command(value, where):
    """A script and its arguments, one line, as keepalived reads it (quoted when it has blanks)."""
    if not isinstance(value, str) or not value.strip() or '\n' in value:
        raise PlanError('%s must be a one-line command, not %r' % (where, value))
    return _values.quote(value.strip())


def _name(value, where):
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise PlanError('%s must be a name of letters, digits, ".", "-" and "_" (at most 64), not %r' % (where, value))
    return value


def _entries(value, variable, keys, required):
    """Each entry of a list variable (None: none), as a mapping of known keys with its required ones, with the
    name messages give it: VARIABLE[NAME], else VARIABLE[INDEX]."""
    if value is None:
        return
    if not isinstance(value, list):
        raise PlanError('%s must be a list' % variable)
    for index, entry in enumerate(value):
        where = '%s[%s]' % (variable, entry.get('name', index) if isinstance(entry, dict) else index)
        entry = _values.mapping(entry, where, keys)
        for key in required:
            if key not in entry:
                raise PlanError('%s.%s is required' % (where, key))
        yield where, entry


def vrrp_scripts(scripts):
    """keepalived_vrrp_scripts, checked: [{name, script, interval, timeout, weight, rise, fall, user, init_fail}]."""
    result, names = [], set()
    for where, script in _entries(scripts, 'keepalived_vrrp_scripts', SCRIPT_KEYS, ('name', 'script')):
        _name(script['name'], where + '.name')
        if script['name'] in names:
            raise PlanError('keepalived_vrrp_scripts: the name %r is used twice' % script['name'])
        names.add(script['name'])
        entry = {'name': script['name'], 'script': _command(script['script'], where + '.script'),
                 'interval': _values.integer(script.get('interval', 2), where + '.interval', 1, 86400)}
        if 'timeout' in script:
            entry['timeout'] = _values.integer(script['timeout'], where + '.timeout', 1, 86400)
        if 'weight' in script:
            entry['weight'] = _values.integer(script['weight'], where + '.weight', -253, 253)
        for key in ('rise', 'fall'):
            if key in script:
                entry[key] = _values.integer(script[key], where + '.' + key, 1, 1000)
        if 'user' in script:
            entry['user'] = _command(script['user'], where + '.user')
        entry['init_fail'] = _values.boolean(script.get('init_fail', False), where + '.init_fail')
        result.append(entry)
    return result


def _unique_names(entries, variable):
    names = set()
    for where, entry in entries:
        _name(entry['name'], where + '.name')
        if entry['name'] in names:
            raise PlanError('%s: the name %r is used twice' % (variable, entry['name']))
        names.add(entry['name'])
        yield where, entry


def _seconds(value, where):
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1
    if not 0 <= seconds <= 3600:
        raise PlanError('%s must be a number of seconds from 0 to 3600, not %r' % (where, value))
    return int(seconds) if seconds == int(seconds) else seconds


def vrrp_track_files(files):
    """keepalived_vrrp_track_files, checked: [{name, file, weight, init_value}].

    keepalived watches each file (inotify: it reacts at once) for a number; with weight 0 any value but 0 puts the
    instances that track it in FAULT. init_value, when given, is written to a file that does not exist yet."""
    result = []
    variable = 'keepalived_vrrp_track_files'
    for where, entry in _unique_names(_entries(files, variable, TRACK_FILE_KEYS, ('name', 'file')), variable):
        path = entry['file']
        if not isinstance(path, str) or not path.startswith('/') or any(c.isspace() or c == '"' for c in path):
            raise PlanError('%s.file must be an absolute path without blanks or quotes, not %r' % (where, path))
        out = {'name': entry['name'], 'file': path,
               'weight': _values.integer(entry.get('weight', 0), where + '.weight', -254, 254)}
        if 'init_value' in entry:
            out['init_value'] = _values.integer(entry['init_value'], where + '.init_value', -2147483648, 2147483647)
        result.append(out)
    return result


def vrrp_track_processes(processes):
    """keepalived_vrrp_track_processes, checked: [{name, process, param_match, weight, quorum, quorum_max, delay,
    terminate_delay, fork_delay, full_command}].

    keepalived follows process starts and exits through the kernel's process events connector, which only the
    initial PID namespace has: it works on a host or a VM, not in a container with a PID namespace of its own
    (there, track the file a service's systemd unit writes: keepalived_vrrp_track_files)."""
    result = []
    variable = 'keepalived_vrrp_track_processes'
    for where, entry in _unique_names(_entries(processes, variable, TRACK_PROCESS_KEYS, ('name', 'process')), variable):
        process = entry['process']
        if not isinstance(process, str) or not process.strip() or '\n' in process or '"' in process:
            raise PlanError('%s.process must be a process name, then its arguments if they are to match, on one line '
                            'without quotes, not %r' % (where, process))
        out = {'name': entry['name'], 'process': ' '.join(process.split()),
               'weight': _values.integer(entry.get('weight', 0), where + '.weight', -254, 254),
               'quorum': _values.integer(entry.get('quorum', 1), where + '.quorum', 1, 65535),
               'full_command': _values.boolean(entry.get('full_command', False), where + '.full_command')}
        if 'quorum_max' in entry:
            out['quorum_max'] = _values.integer(entry['quorum_max'], where + '.quorum_max', out['quorum'], 65535)
        if 'param_match' in entry:
            out['param_match'] = _values.choice(entry['param_match'], where + '.param_match', ('initial', 'partial'))
        for key in ('delay', 'terminate_delay', 'fork_delay'):
            if key in entry:
                out[key] = _seconds(entry[key], where + '.' + key)
        result.append(out)
    return result


def bfd_instances(instances):
    """keepalived_bfd_instances, checked: [{name, neighbor_ip, source_ip, min_rx, min_tx, idle_tx, multiplier, passive,
    ttl, hoplimit, max_hops, weight}], keepalived's own BFD sessions (RFC 5880) that an instance's track_bfds follow.

    The timers are milliseconds; keepalived's defaults (10 ms, 5 missed) suit a quiet link of real hardware, so the
    role asks for them explicitly: a session declared down moves the VIPs."""
    result = []
    variable = 'keepalived_bfd_instances'
    for where, entry in _unique_names(_entries(instances, variable, BFD_KEYS, ('name', 'neighbor_ip', 'min_rx', 'min_tx')),
                                      variable):
        out = {'name': entry['name']}
        families = set()
        for key in ('neighbor_ip', 'source_ip'):
            if key in entry:
                try:
                    address = ipaddress.ip_address(str(entry[key]))
                except ValueError:
                    raise PlanError('%s.%s: %r is not an IP address' % (where, key, entry[key]))
                out[key] = str(address)
                families.add(address.version)
        if len(families) > 1:
            raise PlanError('%s: neighbor_ip and source_ip must be of one family' % where)
        for key, low, high in (('min_rx', 1, 60000), ('min_tx', 1, 60000), ('idle_tx', 1, 60000),
                               ('multiplier', 1, 255), ('max_hops', 0, 255)):
            if key in entry:
                out[key] = _values.integer(entry[key], where + '.' + key, low, high)
        if 'ttl' in entry:
            if 6 in families:
                raise PlanError('%s.ttl is for IPv4 sessions; an IPv6 one takes hoplimit' % where)
            out['ttl'] = _values.integer(entry['ttl'], where + '.ttl', 1, 255)
        if 'hoplimit' in entry:
            if 4 in families:
                raise PlanError('%s.hoplimit is for IPv6 sessions; an IPv4 one takes ttl' % where)
            out['hoplimit'] = _values.integer(entry['hoplimit'], where + '.hoplimit', 1, 255)
        out['passive'] = _values.boolean(entry.get('passive', False), where + '.passive')
        out['weight'] = _values.integer(entry.get('weight', 0), where + '.weight', -253, 253)
        result.append(out)
    return result


SCRIPT_FILE_KEYS = ('name', 'content', 'src')
SCRIPT_FILE_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$')


def script_files(files):
    """keepalived_script_files, checked: the names of the scripts the role writes (name: a file name; content or
    src, one of them)."""
    names = []
    for where, entry in _entries(files, 'keepalived_script_files', SCRIPT_FILE_KEYS, ('name',)):
        if not isinstance(entry['name'], str) or not SCRIPT_FILE_RE.match(entry['name']):
            raise PlanError('%s.name must be a file name (letters, digits, ".", "-", "_"), not %r' % (where, entry['name']))
        if entry['name'] in names:
            raise PlanError('keepalived_script_files: the name %r is used twice' % entry['name'])
        if ('content' in entry) == ('src' in entry):
            raise PlanError('%s needs content (the script\'s text) or src (a file on the controller), one of them'
                            % where)
        names.append(entry['name'])
    return names
