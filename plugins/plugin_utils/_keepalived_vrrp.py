# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived's VRRP side, checked and completed from the inventory: instances, scripts, sync groups.

The role lvs.cluster.keepalived describes VRRP instances once for a group of hosts (the directors, or a
pair of proxies); this file works out each host's part: its priority and start state, its unicast
source address and its peers (the other members of the group, at their lvs_address), the VIPs of the
estate's services the instance carries, and refuses bad input with a message that names the variable.
plan() adds the virtual servers (_keepalived_virtual_servers): everything keepalived.conf holds.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.lvs.cluster.plugins.plugin_utils import _keepalived_virtual_servers, _values
from ansible_collections.lvs.cluster.plugins.plugin_utils._values import PlanError

NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$')
IFNAME_RE = re.compile(r'^[A-Za-z0-9_.@-]{1,15}$')
INSTANCE_KEYS = (
    'name', 'state', 'interface', 'virtual_router_id', 'priority', 'advert_int', 'version', 'vips', 'services',
    'unicast', 'unicast_src_ip', 'unicast_peers', 'peers_group', 'nopreempt', 'preempt_delay', 'track_interfaces',
    'track_scripts', 'track_files', 'track_processes', 'notify', 'notify_master', 'notify_backup', 'notify_fault', 'notify_stop', 'authentication',
    'garp_master_delay', 'garp_master_repeat', 'garp_master_refresh', 'garp_master_refresh_repeat',
    'garp_lower_prio_delay', 'garp_lower_prio_repeat', 'extra',
)
GARP_KEYS = ('garp_master_delay', 'garp_master_repeat', 'garp_master_refresh', 'garp_master_refresh_repeat',
             'garp_lower_prio_delay', 'garp_lower_prio_repeat')
NOTIFY_KEYS = ('notify', 'notify_master', 'notify_backup', 'notify_fault', 'notify_stop')
VIP_KEYS = ('address', 'dev', 'label', 'scope', 'brd')
SCOPES = ('global', 'site', 'link', 'host', 'nowhere')
SCRIPT_KEYS = ('name', 'script', 'interval', 'timeout', 'weight', 'rise', 'fall', 'user', 'init_fail')
TRACK_FILE_KEYS = ('name', 'file', 'weight', 'init_value')
TRACK_PROCESS_KEYS = ('name', 'process', 'param_match', 'weight', 'quorum', 'quorum_max', 'delay', 'terminate_delay',
                      'fork_delay', 'full_command')
SYNC_GROUP_KEYS = ('name', 'instances', 'track_interfaces', 'track_scripts') + NOTIFY_KEYS
AUTH_TYPES = ('PASS', 'AH')


def _command(value, where):
    """A script and its arguments, one line, as keepalived reads it (quoted when it has blanks)."""
    if not isinstance(value, str) or not value.strip() or '\n' in value:
        raise PlanError('%s must be a one-line command, not %r' % (where, value))
    return _values.quote(value.strip())


def _name(value, where):
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise PlanError('%s must be a name of letters, digits, ".", "-" and "_" (at most 64), not %r' % (where, value))
    return value


def _ifname(value, where):
    if not isinstance(value, str) or not IFNAME_RE.match(value):
        raise PlanError('%s must be an interface name (at most 15 characters), not %r' % (where, value))
    return value


def _tracks(value, where, known=None, variable='keepalived_vrrp_scripts', kind='vrrp script'):
    """track_interface / track_script / track_file / track_process entries: names, or {name, weight}; as
    [name, weight or None]. known: the names variable defines (None: interfaces)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise PlanError('%s must be a list' % where)
    result = []
    for index, entry in enumerate(value):
        here = '%s[%d]' % (where, index)
        if isinstance(entry, str):
            entry = {'name': entry}
        entry = _values.mapping(entry, here, ('name', 'weight'))
        if 'name' not in entry:
            raise PlanError('%s.name is required' % here)
        name = entry['name']
        if known is None:
            _ifname(name, here + '.name')
        elif name not in known:
            raise PlanError('%s names %s %r, which %s does not define (it has %s)'
                            % (here, kind, name, variable, ', '.join(sorted(known)) or 'none'))
        weight = _values.integer(entry['weight'], here + '.weight', -253, 253) if 'weight' in entry else None
        result.append([name, weight])
    return result


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


def _vip(entry, where, interface):
    if isinstance(entry, str):
        entry = {'address': entry}
    entry = _values.mapping(entry, where, VIP_KEYS)
    if 'address' not in entry:
        raise PlanError('%s.address is required' % where)
    try:
        network = ipaddress.ip_interface(str(entry['address']))
    except ValueError:
        raise PlanError('%s.address: %r is not an IP address (with an optional /prefix)' % (where, entry['address']))
    dev = _ifname(entry.get('dev', interface), where + '.dev')
    words = [str(network) if '/' in str(entry['address']) else str(network.ip), 'dev', dev]
    if 'brd' in entry:
        words += ['brd', str(ipaddress.ip_address(str(entry['brd'])))]
    if 'scope' in entry:
        if entry['scope'] not in SCOPES:
            raise PlanError('%s.scope is %r; it must be one of %s' % (where, entry['scope'], ', '.join(SCOPES)))
        words += ['scope', entry['scope']]
    if 'label' in entry:
        label = entry['label']
        # The kernel refuses a label that does not begin with the device's name.
        if not isinstance(label, str) or not label.startswith(dev + ':') or len(label) > 15:
            raise PlanError('%s.label must be the device name, ":" and a tag, at most 15 characters (for example '
                            '%s:vip), not %r' % (where, dev, label))
        words += ['label', label]
    return {'address': str(network.ip), 'family': 'ipv6' if network.version == 6 else 'ipv4', 'line': ' '.join(words)}


def _priorities(instance, where, members):
    """Each member's priority: the instance's number, a mapping by host, or by position in the group."""
    given = instance.get('priority')
    result = {}
    if isinstance(given, dict):
        for host, value in given.items():
            result[host] = _values.integer(value, '%s.priority.%s' % (where, host), 1, 254)
    elif given is not None:
        return None, _values.integer(given, where + '.priority', 1, 254)
    for position, host in enumerate(members):
        result.setdefault(host, max(150 - 10 * position, 1))
    return result, None


def vrrp_instances(instances, host, addresses, groups, expanded=None, scripts=None, defaults=None, track_files=None,
                   track_processes=None):
    """keepalived_vrrp_instances for one host, checked and completed.

    addresses: {inventory host: the address its VRRP adverts come from} (lvs_address, else ansible_host).
    defaults: interface, advert_int, version, peers_group.
    """
    defaults = defaults or {}
    # the scripts' own weights, by name (the names are what a track_script may refer to)
    script_weights = {script['name']: script.get('weight') for script in (scripts or [])}
    file_weights = {entry['name']: entry['weight'] for entry in (track_files or [])}
    process_weights = {entry['name']: entry['weight'] for entry in (track_processes or [])}
    result, names, routers = [], set(), {}
    for where, instance in _entries(instances, 'keepalived_vrrp_instances', INSTANCE_KEYS, ('name', 'virtual_router_id')):
        name = _name(instance['name'], where + '.name')
        if name in names:
            raise PlanError('keepalived_vrrp_instances: the name %r is used twice' % name)
        names.add(name)
        out = {'name': name}
        out['interface'] = _ifname(instance.get('interface', defaults.get('interface', 'eth0')), where + '.interface')
        out['virtual_router_id'] = _values.integer(instance['virtual_router_id'], where + '.virtual_router_id', 1, 255)
        out['version'] = _values.integer(instance.get('version', defaults.get('version', 2)), where + '.version', 2, 3)
        advert = instance.get('advert_int', defaults.get('advert_int', 1))
        try:
            advert = float(advert)
        except (TypeError, ValueError):
            raise PlanError('%s.advert_int must be a number of seconds, not %r' % (where, advert))
        if out['version'] == 2 and (advert != int(advert) or not 1 <= advert <= 255):
            raise PlanError('%s.advert_int is %s; VRRP version 2 counts whole seconds from 1 to 255 (set version 3 '
                            'for sub-second adverts)' % (where, instance.get('advert_int')))
        if out['version'] == 3 and (not 0.01 <= advert <= 40.95 or abs(advert * 100 - round(advert * 100)) > 1e-6):
            raise PlanError('%s.advert_int is %s; VRRP version 3 takes 0.01 to 40.95 seconds in steps of 0.01'
                            % (where, instance.get('advert_int')))
        out['advert_int'] = int(advert) if advert == int(advert) else advert
        key = (out['interface'], out['virtual_router_id'])
        if key in routers:
            raise PlanError('%s and %s use the same virtual_router_id %d on %s' % (routers[key], where, key[1], key[0]))
        routers[key] = where

        # The group of hosts that run this instance: the peers, and the order that gives default priorities.
        group = instance.get('peers_group', defaults.get('peers_group', 'directors'))
        members = list(groups.get(group, [])) if isinstance(group, str) else None
        if members is None:
            raise PlanError('%s.peers_group must name an inventory group, not %r' % (where, group))
        priorities, fixed = _priorities(instance, where, members)
        if fixed is not None:
            out['priority'] = fixed
        elif host in priorities:
            out['priority'] = priorities[host]
        else:
            raise PlanError('%s: host %s is not in the inventory group %r (peers_group) and the instance gives it no '
                            'priority: add it to the group or set priority' % (where, host, group))
        out['nopreempt'] = _values.boolean(instance.get('nopreempt', False), where + '.nopreempt')
        if 'preempt_delay' in instance:
            if out['nopreempt']:
                raise PlanError('%s: preempt_delay has no effect with nopreempt; set one or the other' % where)
            out['preempt_delay'] = _values.integer(instance['preempt_delay'], where + '.preempt_delay', 0, 1000)
        state = instance.get('state')
        if state is None:
            # Only a start state: VRRP elects by priority. nopreempt needs every member to start as BACKUP.
            highest = fixed is None and all(out['priority'] > value for other, value in priorities.items() if other != host)
            state = 'MASTER' if highest and not out['nopreempt'] else 'BACKUP'
        if state not in ('MASTER', 'BACKUP'):
            raise PlanError('%s.state is %r; it must be MASTER or BACKUP' % (where, state))
        if state == 'MASTER' and out['nopreempt']:
            raise PlanError('%s: nopreempt works only when every member starts in state BACKUP' % where)
        out['state'] = state

        # VIPs: the instance's own, then those of the estate's services it carries.
        vips_given = instance.get('vips', [])
        if not isinstance(vips_given, list):
            raise PlanError('%s.vips must be a list' % where)
        vips = [_vip(entry, '%s.vips[%d]' % (where, i), out['interface']) for i, entry in enumerate(vips_given)]
        services = instance.get('services', [])
        if not isinstance(services, list):
            raise PlanError('%s.services must be a list of service names' % where)
        try:
            for address in _keepalived_virtual_servers.keepalived_vips(expanded or [], services):
                if address not in [vip['address'] for vip in vips]:
                    vips.append(_vip(address, where + '.services', out['interface']))
        except PlanError as exc:
            raise PlanError('%s.services: %s' % (where, exc))
        if not vips:
            raise PlanError('%s has no VIP: give it vips, or services whose VIPs it carries' % where)
        families = sorted({vip['family'] for vip in vips})
        if len(families) > 1:
            raise PlanError('%s mixes IPv4 and IPv6 VIPs; VRRP carries one family per instance: use two instances'
                            % where)
        out['family'] = families[0]
        if out['family'] == 'ipv6' and out['version'] != 3:
            raise PlanError('%s: IPv6 VIPs need VRRP version 3' % where)
        out['vips'] = [vip['line'] for vip in vips]

        # Unicast: the other members of the group, at the address each reaches the others on.
        out['unicast'] = _values.boolean(instance.get('unicast', True), where + '.unicast')
        if out['unicast']:
            if 'unicast_peers' in instance:
                peers = instance['unicast_peers']
                if not isinstance(peers, list):
                    raise PlanError('%s.unicast_peers must be a list of addresses' % where)
            else:
                peers = [addresses[other] for other in members if other != host and other in addresses]
            out['unicast_peers'] = []
            for peer in peers:
                try:
                    out['unicast_peers'].append(str(ipaddress.ip_address(str(peer))))
                except ValueError:
                    raise PlanError('%s.unicast_peers: %r is not an IP address' % (where, peer))
            source = instance.get('unicast_src_ip', addresses.get(host))
            try:
                out['unicast_src_ip'] = str(ipaddress.ip_address(str(source))) if source else None
            except ValueError:
                raise PlanError('%s.unicast_src_ip: %r is not an IP address (set lvs_address on %s)'
                                % (where, source, host))
            if out['unicast_src_ip'] in out['unicast_peers']:
                raise PlanError('%s: host %s is its own unicast peer (%s); two hosts of group %s share that address'
                                % (where, host, out['unicast_src_ip'], group))
            if not out['unicast_peers'] and 'unicast_peers' in instance:
                raise PlanError('%s.unicast_peers is empty: unicast needs at least one peer; list the peers\' addresses, '
                                'leave unicast_peers out (the other members of group %s), or set unicast false for '
                                'multicast' % (where, group))
            if not out['unicast_peers']:
                raise PlanError('%s: unicast with no peer (group %s has no other member with an address): list '
                                'unicast_peers, or set unicast false for multicast' % (where, group))

        out['track_interfaces'] = _tracks(instance.get('track_interfaces'), where + '.track_interfaces')
        if out['interface'] in [name for name, _weight in out['track_interfaces']]:
            raise PlanError('%s.track_interfaces lists %s, the instance\'s own interface, which it tracks anyway '
                            '(keepalived refuses it)' % (where, out['interface']))
        out['track_scripts'] = _tracks(instance.get('track_scripts'), where + '.track_scripts', script_weights)
        out['track_files'] = _tracks(instance.get('track_files'), where + '.track_files', file_weights,
                                     'keepalived_vrrp_track_files', 'track file')
        out['track_processes'] = _tracks(instance.get('track_processes'), where + '.track_processes', process_weights,
                                         'keepalived_vrrp_track_processes', 'track process')
        if out['nopreempt']:
            # A backup with nopreempt never takes over from a master whose priority merely dropped: only a
            # master that leaves (stops, or goes to FAULT on a weight-0 track) hands the VIPs over.
            moving = [name for name, weight in out['track_scripts']
                      if (weight if weight is not None else script_weights.get(name)) not in (None, 0)]
            moving += [name for name, weight in out['track_interfaces'] if weight not in (None, 0)]
            for key, weights in (('track_files', file_weights), ('track_processes', process_weights)):
                moving += [name for name, weight in out[key] if (weight if weight is not None else weights[name]) != 0]
            if moving:
                raise PlanError('%s: with nopreempt, tracking %s by a weight never moves the VIPs (the peer does '
                                'not preempt a master of lower priority); give them weight 0, so that a failure '
                                'puts the instance in FAULT' % (where, ', '.join(moving)))
        for key in NOTIFY_KEYS:
            if key in instance:
                out[key] = _command(instance[key], where + '.' + key)
        for key in GARP_KEYS:
            if key in instance:
                out[key] = _values.integer(instance[key], where + '.' + key, 0, 86400)
        if 'authentication' in instance:
            auth = _values.mapping(instance['authentication'], where + '.authentication', ('type', 'password'))
            if out['version'] == 3:
                raise PlanError('%s.authentication: VRRP version 3 has no authentication' % where)
            kind = auth.get('type', 'PASS')
            if kind not in AUTH_TYPES:
                raise PlanError('%s.authentication.type must be PASS or AH' % where)
            password = auth.get('password')
            # Never echo the secret itself in a message.
            if not isinstance(password, str) or not password or len(password) > 8 or not re.match(r'^[!-~]+$', password):
                raise PlanError('%s.authentication.password is required: 1 to 8 printable characters without '
                                'blanks (keepalived uses only the first 8); there is no default' % where)
            # The plan carries no secret: the role writes it to a root-only file from the variable itself.
            out['authentication'] = {'type': kind}
        extra = instance.get('extra', [])
        if not isinstance(extra, list) or not all(isinstance(line, str) and '\n' not in line for line in extra):
            raise PlanError('%s.extra must be a list of one-line strings' % where)
        out['extra'] = extra
        result.append(out)
    return result


def sync_groups(groups_given, instances, scripts=None):
    """keepalived_vrrp_sync_groups, checked against the instances and scripts."""
    if groups_given is None:
        return []
    if not isinstance(groups_given, list):
        raise PlanError('keepalived_vrrp_sync_groups must be a list')
    known = {instance['name'] for instance in instances}
    result, used = [], {}
    for index, group in enumerate(groups_given):
        where = 'keepalived_vrrp_sync_groups[%s]' % (group.get('name', index) if isinstance(group, dict) else index)
        group = _values.mapping(group, where, SYNC_GROUP_KEYS)
        if 'name' not in group or not isinstance(group.get('instances'), list) or len(group['instances']) < 2:
            raise PlanError('%s needs a name and a list of at least two instances (keepalived refuses a sync group '
                            'of one)' % where)
        out = {'name': _name(group['name'], where + '.name'), 'instances': group['instances']}
        for name in group['instances']:
            if name not in known:
                raise PlanError('%s.instances names %r, which keepalived_vrrp_instances does not define' % (where, name))
            if name in used:
                raise PlanError('%s: instance %s is already in sync group %s' % (where, name, used[name]))
            used[name] = out['name']
        out['track_interfaces'] = _tracks(group.get('track_interfaces'), where + '.track_interfaces')
        out['track_scripts'] = _tracks(group.get('track_scripts'), where + '.track_scripts',
                                       {script['name'] for script in (scripts or [])})
        for key in NOTIFY_KEYS:
            if key in group:
                out[key] = _command(group[key], where + '.' + key)
        result.append(out)
    return result


def sync_daemon(settings, instances):
    """keepalived_sync_daemon ({} = off): the IPVS connection sync daemon line for global_defs."""
    if not settings:
        return None
    where = 'keepalived_sync_daemon'
    settings = _values.mapping(settings, where, ('interface', 'instance', 'id', 'maxlen', 'port', 'ttl', 'group'))
    if 'interface' not in settings:
        raise PlanError('%s.interface is required: the interface the directors sync connections over' % where)
    words = [_ifname(settings['interface'], where + '.interface')]
    if 'instance' in settings:
        if settings['instance'] not in {instance['name'] for instance in instances}:
            raise PlanError('%s.instance names %r, which keepalived_vrrp_instances does not define'
                            % (where, settings['instance']))
        words += ['inst', settings['instance']]
    for key, low, high in (('id', 0, 255), ('maxlen', 1, 65507), ('port', 1, 65535), ('ttl', 1, 255)):
        if key in settings:
            words += [key, str(_values.integer(settings[key], where + '.' + key, low, high))]
    if 'group' in settings:
        try:
            words += ['group', str(ipaddress.ip_address(str(settings['group'])))]
        except ValueError:
            raise PlanError('%s.group: %r is not an IP address' % (where, settings['group']))
    return ' '.join(words)


def plan(settings, host, addresses, groups, expanded):
    """Everything keepalived.conf needs on one host, from the role's settings and the estate.

    settings: instances, scripts, sync_groups, sync_daemon and defaults (interface, advert_int, version,
    peers_group), as the role's variables give them.
    """
    scripts = vrrp_scripts(settings.get('scripts'))
    track_files = vrrp_track_files(settings.get('track_files'))
    track_processes = vrrp_track_processes(settings.get('track_processes'))
    instances = vrrp_instances(settings.get('instances'), host, addresses, groups, expanded, scripts,
                               settings.get('defaults'), track_files, track_processes)
    result = {
        'scripts': scripts,
        'script_files': script_files(settings.get('script_files')),
        'track_files': track_files,
        'track_processes': track_processes,
        'instances': instances,
        'sync_groups': sync_groups(settings.get('sync_groups'), instances, scripts),
        'sync_daemon': sync_daemon(settings.get('sync_daemon'), instances),
        'has_secret': any('authentication' in instance for instance in instances),
    }
    result.update(_keepalived_virtual_servers.keepalived_virtual_servers(expanded))
    owned_services = [svc for svc in expanded if svc['owner'] == 'keepalived' and svc['state'] == 'present']
    owned = [svc['name'] for svc in owned_services]
    result['services'] = owned
    # the owned services whose leaving real servers are drained first (the role reads the kernel for them)
    result['draining'] = [svc['name'] for svc in owned_services if svc['drain_timeout']]
    if owned and not instances and not settings.get('allow_without_vrrp'):
        raise PlanError('keepalived owns services %s but keepalived_vrrp_instances is empty: nothing would carry '
                        'their VIPs' % ', '.join(owned))
    return result
