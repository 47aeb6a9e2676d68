# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived's VRRP side, checked and completed from the inventory: instances and sync groups (what they track
and run is checked in _keepalived_tracked).

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
from ansible_collections.lvs.cluster.plugins.plugin_utils._keepalived_tracked import (
    _command, _entries, _name, bfd_instances, script_files, vrrp_scripts, vrrp_track_files, vrrp_track_processes)
from ansible_collections.lvs.cluster.plugins.plugin_utils._values import PlanError

IFNAME_RE = re.compile(r'^[A-Za-z0-9_.@-]{1,15}$')
INSTANCE_KEYS = (
    'name', 'state', 'interface', 'virtual_router_id', 'priority', 'advert_int', 'version', 'vips', 'services',
    'unicast', 'unicast_src_ip', 'unicast_peers', 'peers_group', 'nopreempt', 'preempt_delay', 'track_interfaces',
    'track_scripts', 'track_files', 'track_processes', 'track_bfds', 'notify', 'notify_master', 'notify_backup',
    'notify_fault', 'notify_stop', 'authentication',
    'garp_master_delay', 'garp_master_repeat', 'garp_master_refresh', 'garp_master_refresh_repeat',
    'garp_lower_prio_delay', 'garp_lower_prio_repeat', 'extra',
)
GARP_KEYS = ('garp_master_delay', 'garp_master_repeat', 'garp_master_refresh', 'garp_master_refresh_repeat',
             'garp_lower_prio_delay', 'garp_lower_prio_repeat')
NOTIFY_KEYS = ('notify', 'notify_master', 'notify_backup', 'notify_fault', 'notify_stop')
VIP_KEYS = ('address', 'dev', 'label', 'scope', 'brd')
SCOPES = ('global', 'site', 'link', 'host', 'nowhere')
SYNC_GROUP_KEYS = ('name', 'instances', 'track_interfaces', 'track_scripts') + NOTIFY_KEYS
AUTH_TYPES = ('PASS', 'AH')


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
                   track_processes=None, bfds=None):
    """keepalived_vrrp_instances for one host, checked and completed.

    addresses: {inventory host: the address its VRRP adverts come from} (lvs_address, else ansible_host).
    defaults: interface, advert_int, version, peers_group.
    """
    defaults = defaults or {}
    # the scripts' own weights, by name (the names are what a track_script may refer to)
    script_weights = {script['name']: script.get('weight') for script in (scripts or [])}
    file_weights = {entry['name']: entry['weight'] for entry in (track_files or [])}
    process_weights = {entry['name']: entry['weight'] for entry in (track_processes or [])}
    bfd_weights = {entry['name']: entry['weight'] for entry in (bfds or [])}
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
            wrong = [one for one in out['unicast_peers'] + [out['unicast_src_ip'] or '']
                     if one and (':' in one) != (out['family'] == 'ipv6')]
            if wrong:
                # VRRP adverts travel in the VIPs' family: keepalived refuses an IPv6 instance with IPv4 peers
                raise PlanError('%s carries %s VIPs but unicasts to or from %s; give unicast_peers and unicast_src_ip of '
                                'that family, or set unicast false (multicast: IPv6 link-local, nothing to give)'
                                % (where, out['family'], wrong[0]))
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
        out['track_bfds'] = _tracks(instance.get('track_bfds'), where + '.track_bfds', bfd_weights,
                                    'keepalived_bfd_instances', 'BFD instance')
        if out['nopreempt']:
            # A backup with nopreempt never takes over from a master whose priority merely dropped: only a
            # master that leaves (stops, or goes to FAULT on a weight-0 track) hands the VIPs over.
            moving = [name for name, weight in out['track_scripts']
                      if (weight if weight is not None else script_weights.get(name)) not in (None, 0)]
            moving += [name for name, weight in out['track_interfaces'] if weight not in (None, 0)]
            for key, weights in (('track_files', file_weights), ('track_processes', process_weights),
                                 ('track_bfds', bfd_weights)):
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


# The track file of a clean stop (keepalived_release_vips_on_stop): the role's systemd drop-in writes 1 to it before
# keepalived is signalled, every instance tracks it with weight 0, and so goes to FAULT, gives up its VIPs and sends
# its priority-0 advert while keepalived still runs; only then do keepalived's checkers remove the IPVS services.
# Otherwise both happen at once on SIGTERM, and a packet that reaches the VIP while it is still on this host but its
# virtual server is gone meets the host's own TCP stack, which resets the connection.
STOPPING_TRACK = 'lvs_cluster_stopping'


def _release_on_stop(stop_file, track_files, instances):
    """Add the stopping track file to the track files and to every instance; returns the VIP addresses to wait for."""
    if not isinstance(stop_file, str) or not stop_file.startswith('/') or any(c.isspace() or c == '"' for c in stop_file):
        raise PlanError('keepalived_stop_file must be an absolute path without blanks or quotes, not %r' % (stop_file,))
    if STOPPING_TRACK in [entry['name'] for entry in track_files]:
        raise PlanError('keepalived_vrrp_track_files: the name %s is the role\'s own (keepalived_release_vips_on_stop)'
                        % STOPPING_TRACK)
    track_files.append({'name': STOPPING_TRACK, 'file': stop_file, 'weight': 0, 'init_value': 0})
    vips = []
    for instance in instances:
        instance['track_files'].append([STOPPING_TRACK, 0])
        vips.extend(line.split()[0].split('/')[0] for line in instance['vips'])
    return vips


def plan(settings, host, addresses, groups, expanded):
    """Everything keepalived.conf needs on one host, from the role's settings and the estate.

    settings: instances, scripts, sync_groups, sync_daemon and defaults (interface, advert_int, version,
    peers_group), as the role's variables give them.
    """
    scripts = vrrp_scripts(settings.get('scripts'))
    track_files = vrrp_track_files(settings.get('track_files'))
    track_processes = vrrp_track_processes(settings.get('track_processes'))
    bfds = bfd_instances(settings.get('bfd_instances'))
    instances = vrrp_instances(settings.get('instances'), host, addresses, groups, expanded, scripts,
                               settings.get('defaults'), track_files, track_processes, bfds)
    stop_file = settings.get('stop_file')
    release_vips = _release_on_stop(stop_file, track_files, instances) if stop_file else []
    result = {
        'scripts': scripts,
        'script_files': script_files(settings.get('script_files')),
        'track_files': track_files,
        'track_processes': track_processes,
        'bfd_instances': bfds,
        'instances': instances,
        'release_on_stop': {'file': stop_file, 'vips': release_vips} if stop_file else None,
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
