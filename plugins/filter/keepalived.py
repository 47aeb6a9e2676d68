# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the keepalived role: one host's VRRP instances and virtual servers, checked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils import _estate, _keepalived

_WANTED = ('lvs_address', 'ansible_host', 'lvs_port', 'lvs_weight', 'lvs_overrides', 'lvs_nat_gateway')


def keepalived_plan(settings, hostvars, groups, host):
    """What keepalived.conf holds on one host: instances, scripts, sync groups, virtual servers."""
    plain = {}
    for members in (groups or {}).values():
        for name in members:
            if name not in plain:
                hvars = hostvars[name] if name in hostvars else {}
                plain[name] = {key: hvars[key] for key in _WANTED if key in hvars}
    if host not in plain:
        hvars = hostvars[host] if host in hostvars else {}
        plain[host] = {key: hvars[key] for key in _WANTED if key in hvars}
    try:
        addresses = {name: _estate.member_address(name, hvars) for name, hvars in plain.items()
                     if hvars.get('lvs_address') or hvars.get('ansible_host')}
        expanded = _estate.virtual_services(settings.get('services'), plain, dict(groups))
        return _keepalived.plan(settings, host, addresses, dict(groups), expanded)
    except _estate.EstateError as exc:
        raise AnsibleFilterError('bad estate: %s' % exc)
    except _keepalived.KeepalivedError as exc:
        raise AnsibleFilterError('bad keepalived settings: %s' % exc)


def keepalived_virtual_servers(services):
    """keepalived's virtual_server and virtual_server_group blocks for expanded services keepalived owns."""
    try:
        return _estate.keepalived_virtual_servers(services)
    except _estate.EstateError as exc:
        raise AnsibleFilterError('bad estate: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {
            'keepalived_plan': keepalived_plan,
            'keepalived_virtual_servers': keepalived_virtual_servers,
        }
