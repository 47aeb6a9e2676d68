# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run that lo_vip and director_vip share: plan the addresses of a device and their files,
then apply them through the persistence engine (kernel first, files last, rollback on failure).
Each module supplies what is its own in an AddressJob.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.lvs.cluster.plugins.module_utils import _persist as persist
from ansible_collections.lvs.cluster.plugins.module_utils import _vip as vip
from ansible_collections.lvs.cluster.plugins.module_utils._rtnetlink import Netlink

# owner: a _persist.Owner. bring_up: bring the device up when it is down (lo_vip's tunnels).
# elsewhere(module, {ip: [device names]}): what to do about wanted addresses bound to other
# devices (refuse or warn). missing: the message when the device does not exist.
# announce(module, netlink, device, index, added): after a successful apply (gratuitous ARP), or None.
AddressJob = collections.namedtuple('AddressJob', 'owner bring_up elsewhere missing announce')

REPORTED = ('added', 'removed', 'changed_files')


def argument_spec(**own):
    """The options lo_vip and director_vip share, with the module's own."""
    spec = persist.argument_spec()
    spec.update(addresses=dict(type='list', elements='str', required=True),
                allow_non_host_prefix=dict(type='bool', default=False))
    spec.update(own)
    return spec


def bound_elsewhere(netlink, device, ips):
    """{ip: [device names]} of the given ips bound to devices other than device."""
    found = {}
    for name, iface in netlink.all_addresses():
        if name != device and iface.ip in ips:
            found.setdefault(iface.ip, []).append(name)
    return found


def _plan_files(module, job, device, index, wanted, chosen):
    plan, holding, network_file = {}, [], None
    for backend in chosen:
        files, held, used = backend.plan_addresses(job.owner, device, index, wanted, module.params['state'], module.warn)
        plan.update(files)
        holding.extend(held)
        network_file = network_file or used
    return persist.file_changes(plan), holding, network_file


def _apply(module, netlink, device, index, plan, changes):
    """The kernel steps, then the files; on a failure every step done is undone and the module fails."""
    to_add, to_remove, bring_up = plan
    steps = persist.Steps()
    try:
        if bring_up:
            steps.run('bring %s up' % device, lambda: netlink.set_up(index), lambda: netlink.set_up(index, False))
        for iface in to_remove:
            steps.run('remove %s from %s' % (vip.address_text(iface), device), lambda i=iface: netlink.delete(index, i),
                      lambda i=iface: netlink.add(index, i), ('removed', vip.address_text(iface)))
        for iface in to_add:
            steps.run('add %s to %s' % (vip.address_text(iface), device), lambda i=iface: netlink.add(index, i),
                      lambda i=iface: netlink.delete(index, i), ('added', vip.address_text(iface)))
        steps.files(module, changes)
    except Exception as exc:  # pylint: disable=broad-except  # every failure rolls back
        return steps, exc
    return steps, None


def run(module, job, device, wanted):
    """Plan, apply (outside check mode) and return the result dict; fails the module on errors."""
    params = module.params
    state = params['state']
    try:
        chosen = persist.choose_backends(params['persistence'], state)
    except persist.PersistError as exc:
        module.fail_json(msg=to_native(exc))
    netlink = Netlink()
    try:
        link = netlink.link(device)
        if link is None and state == 'present':
            module.fail_json(msg=job.missing)
        index, is_up = link if link is not None else (None, False)
        current = netlink.addresses(index) if index is not None else []
        to_add, to_remove = vip.plan_addresses(current, wanted, state)
        if state == 'present':
            job.elsewhere(module, bound_elsewhere(netlink, device, set(iface.ip for iface in wanted)))
        try:
            changes, holding, network_file = _plan_files(module, job, device, index, wanted, chosen)
        except persist.PersistError as exc:
            module.fail_json(msg=to_native(exc))
        bring_up = job.bring_up and state == 'present' and not is_up
        predicted = [c for c in current if c not in to_remove] + to_add
        result = dict(
            changed=bool(to_add or to_remove or bring_up or changes),
            device=device,
            persistence=chosen[0].name if state == 'present' and chosen else params['persistence'],
            network_file=network_file,
            added=[vip.address_text(i) for i in to_add],
            removed=[vip.address_text(i) for i in to_remove],
            changed_files=[change.path for change in changes],
            persistence_files=holding,
        )
        if job.announce is not None:
            result['announced'] = []
        if module._diff:
            result['diff'] = persist.state_diffs('%s addresses' % device, [vip.address_text(i) for i in current],
                                                 [vip.address_text(i) for i in predicted], changes)
        if result['changed'] and not module.check_mode:
            steps, error = _apply(module, netlink, device, index, (to_add, to_remove, bring_up), changes)
            if error is not None:
                steps.rollback()
                result['addresses'] = [vip.address_text(i) for i in (netlink.addresses(index) if index is not None else [])]
                steps.fail(module, error, result, REPORTED)
            for warning in persist.reload_backends(module, chosen, changes, params['reload_networkd']):
                module.warn(warning)
            if job.announce is not None and to_add:
                result['announced'] = job.announce(module, netlink, device, index, to_add)
            predicted = netlink.addresses(index) if index is not None else []
        result['addresses'] = [vip.address_text(i) for i in predicted]
    finally:
        netlink.close()
    return result
