# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the keepalived role: one host's VRRP instances and virtual servers, checked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.plugin_utils import (
    _estate, _hostvars, _keepalived_virtual_servers, _keepalived_vrrp)
from ansible_collections.lvs.cluster.plugins.plugin_utils._filter_errors import refusing


@refusing('bad keepalived settings')
def keepalived_plan(services, settings, hostvars, groups, host):
    """What keepalived.conf holds on one host, from the expanded estate and the role's settings: instances,
    scripts, sync groups, virtual servers."""
    plain = _hostvars.read_hostvars(hostvars, groups, [host])
    addresses = {name: _estate.member_address(name, hvars) for name, hvars in plain.items()
                 if hvars.get('lvs_address') or hvars.get('ansible_host')}
    return _keepalived_vrrp.plan(settings, host, addresses, dict(groups), services)


@refusing('bad estate')
def keepalived_virtual_servers(services):
    """keepalived's virtual_server and virtual_server_group blocks for expanded services keepalived owns."""
    return _keepalived_virtual_servers.keepalived_virtual_servers(services)


@refusing('bad estate')
def keepalived_leaving_drained(plan, services, kernel_services):
    """keepalived's virtual servers with the real servers that leave a service kept at weight 0, and the drains
    to wait for (see plugin_utils._keepalived_virtual_servers.leaving_drained)."""
    return _keepalived_virtual_servers.leaving_drained(plan['virtual_servers'], services, kernel_services)


class FilterModule(object):
    def filters(self):
        return {
            'keepalived_plan': keepalived_plan,
            'keepalived_virtual_servers': keepalived_virtual_servers,
            'keepalived_leaving_drained': keepalived_leaving_drained,
        }
