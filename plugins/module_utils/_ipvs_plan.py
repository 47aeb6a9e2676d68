# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IPVS modules' plans: the operations that turn the kernel's table into the desired one, their inverses
(for rolling back), and the predicted table after them (check mode, diff).

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_values import (
    SERVER_SETTINGS, SERVICE_SETTINGS, address_order, describe_server, describe_service, server_key)


def settings_of(record, names):
    return dict((name, record.get(name)) for name in names)


def changed_fields(desired, actual, names):
    return [name for name in names if desired.get(name) != actual.get(name)]


def _change_text(names, old, new):
    return ', '.join('%s %s -> %s' % (name, show_value(old.get(name)), show_value(new.get(name))) for name in names)


def show_value(value):
    """A setting's value as the messages print it: - for none, yes / no for flags."""
    if value is None:
        return '-'
    if value is True:
        return 'yes'
    if value is False:
        return 'no'
    return str(value)


def plan_servers(service, desired, actual, purge=False, state='present'):
    """Operations turning the actual servers of one service into the desired ones.

    desired: server dicts (None = leave servers alone). actual: server dicts read back.
    Only servers of this one service are ever touched; purge removes unlisted ones of it.
    state 'absent' removes the listed servers; 'drained' is 'present' with weight 0.
    """
    ops = []
    if desired is None:
        return ops
    by_key = dict((server_key(server), server) for server in actual)
    listed = set()
    for server in desired:
        key = server_key(server)
        listed.add(key)
        current = by_key.get(key)
        if state == 'absent':
            if current is not None:
                ops.append({'op': 'del_server', 'service': service, 'old': current,
                            'text': 'remove server %s' % describe_server(service, current)})
            continue
        if state == 'drained':
            # Draining changes the weight only; a server that is not there has nothing to drain.
            if current is not None and current.get('weight') != 0:
                wanted = dict(current, weight=0)
                ops.append({'op': 'set_server', 'service': service, 'new': wanted, 'old': current,
                            'text': 'drain server %s: weight %s -> 0' % (describe_server(service, current), current.get('weight'))})
            continue
        wanted = dict(server)
        if current is None:
            ops.append({'op': 'add_server', 'service': service, 'new': wanted,
                        'text': 'add server %s' % describe_server(service, wanted)})
            continue
        changed = changed_fields(wanted, current, SERVER_SETTINGS)
        if changed:
            ops.append({'op': 'set_server', 'service': service, 'new': wanted, 'old': current,
                        'text': 'update server %s: %s' % (describe_server(service, wanted), _change_text(changed, current, wanted))})
    if purge and state == 'present':
        for server in actual:
            if server_key(server) not in listed:
                ops.append({'op': 'del_server', 'service': service, 'old': server,
                            'text': 'remove unlisted server %s' % describe_server(service, server)})
    # Removals first: frees kernel resources and keeps a replaced server from briefly coexisting.
    ops.sort(key=lambda op: 0 if op['op'] == 'del_server' else 1)
    return ops


def plan_service(desired, actual, state='present', desired_servers=None, actual_servers=None, purge=False):
    """Operations for ipvs_service. actual is the kernel's service dict or None."""
    actual_servers = actual_servers or []
    if state == 'absent':
        if actual is None:
            return []
        return [{'op': 'del_service', 'old': actual, 'old_servers': actual_servers,
                 'text': 'remove service %s with its %d server(s)' % (describe_service(actual), len(actual_servers))}]
    if actual is None:
        add = {'op': 'add_service', 'new': desired, 'text': 'add service %s' % describe_service(desired)}
        return [add] + plan_servers(desired, desired_servers, [], purge=purge)
    ops = plan_servers(desired, desired_servers, actual_servers, purge=purge)
    changed = changed_fields(desired, actual, SERVICE_SETTINGS)
    if changed:
        # Settings last: any order converges, and if the kernel then refuses (say, a scheduler it cannot load)
        # the server changes before it are rolled back like any other step.
        ops.append({'op': 'set_service', 'new': desired, 'old': actual,
                    'text': 'update service %s in place: %s' % (describe_service(desired), _change_text(changed, actual, desired))})
    return ops


def inverse(op):
    """The operation that undoes op (for rolling back a failed run)."""
    kind = op['op']
    if kind == 'add_service':
        return {'op': 'del_service', 'old': op['new'], 'old_servers': [], 'text': 'roll back: remove service'}
    if kind == 'set_service':
        return {'op': 'set_service', 'new': op['old'], 'old': op['new'], 'text': 'roll back: restore service settings'}
    if kind == 'del_service':
        return {'op': 'restore_service', 'new': op['old'], 'servers': op['old_servers'], 'text': 'roll back: re-create service'}
    if kind == 'add_server':
        return {'op': 'del_server', 'service': op['service'], 'old': op['new'], 'text': 'roll back: remove server'}
    if kind == 'set_server':
        return {'op': 'set_server', 'service': op['service'], 'new': op['old'], 'old': op['new'], 'text': 'roll back: restore server'}
    if kind == 'del_server':
        return {'op': 'add_server', 'service': op['service'], 'new': op['old'], 'text': 'roll back: re-add server'}
    raise ValueError('no inverse for %s' % kind)


def apply_ops(service, servers, ops):
    """Predict (service, servers) after ops; used for check mode and for the diff."""
    if not ops:
        return service, servers or []
    service = copy.deepcopy(service)
    servers = [copy.deepcopy(server) for server in servers or []]
    for op in ops:
        kind = op['op']
        if kind == 'add_service':
            service = _settings_only(op['new'])
            servers = []
        elif kind == 'set_service':
            service.update(settings_of(op['new'], SERVICE_SETTINGS))
        elif kind == 'del_service':
            service = None
            servers = []
        elif kind == 'add_server':
            servers.append(_server_settings_only(op['new']))
        elif kind == 'set_server':
            for server in servers:
                if server_key(server) == server_key(op['new']):
                    server.update(settings_of(op['new'], SERVER_SETTINGS))
        elif kind == 'del_server':
            servers = [server for server in servers if server_key(server) != server_key(op['old'])]
    return service, servers


def _settings_only(service):
    keep = ('family', 'protocol', 'address', 'port', 'fwmark') + SERVICE_SETTINGS
    return dict((name, service.get(name)) for name in keep)


def _server_settings_only(server):
    keep = ('address', 'port') + SERVER_SETTINGS
    result = dict((name, server.get(name)) for name in keep)
    result.update({'active_connections': 0, 'inactive_connections': 0, 'persistent_connections': 0})
    return result


def public_service(service, servers=None):
    """Return-value form of a service (adds its servers when given)."""
    if service is None:
        return None
    # Shallow copies: the records are the run's own (decoded or predicted), and a table of 11,000 entries is
    # deep-copied once more anyway by AnsibleModule.exit_json (remove_values).
    result = dict(service)
    if servers is not None:
        result['servers'] = sorted(servers, key=address_order)
    return result
