# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the estate's one data model (lvs_virtual_services); see docs/estate.md."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils import _estate


def _plain(hostvars, groups):
    """HostVars is lazy and templated on access; read only what the model uses, once per host."""
    wanted = ('lvs_address', 'ansible_host', 'lvs_port', 'lvs_weight', 'lvs_overrides', 'lvs_nat_gateway')
    plain = {}
    for members in (groups or {}).values():
        for host in members:
            if host in plain:
                continue
            hvars = hostvars[host] if host in hostvars else {}
            plain[host] = {key: hvars[key] for key in wanted if key in hvars}
    return plain


def virtual_services(services, hostvars, groups):
    """lvs_virtual_services checked and expanded: each service with its real servers as ``members``."""
    try:
        return _estate.virtual_services(services, _plain(hostvars, groups), dict(groups))
    except _estate.EstateError as exc:
        raise AnsibleFilterError('bad estate: %s' % exc)


def ipvs_service_args(service):
    """The arguments of lvs.cluster.ipvs_service that converge one expanded service."""
    return _estate.ipvs_service_args(service)


def served_by(services, host):
    """The expanded services the host is a real server of, each with the host's entry as ``member``."""
    return _estate.served_by(services, host)


def proxy_services(services, host, owner):
    """The proxy services one host serves with haproxy or nginx (owner), each with its pools and routes."""
    return _estate.proxy_services(services, host, owner)


def realserver_plan(services, host):
    """What one real server needs: VIPs per device, ARP settings, tunnel modules, its NAT gateway."""
    try:
        return _estate.realserver_plan(services, host)
    except _estate.EstateError as exc:
        raise AnsibleFilterError('bad estate: %s' % exc)


def ipvsadm_rules(services):
    """Expanded services as ipvsadm-restore lines (the table a director restores at boot)."""
    return _estate.ipvsadm_rules(services)


def director_plan(services, ipvs_sysctls=None):
    """What a director needs for the services it owns: kernel modules, sysctls, VIPs, saved table, records."""
    return _estate.director_plan(services, ipvs_sysctls)


def removed_services(previous_records, plan):
    """Records of services a director programmed before and must now remove."""
    return _estate.removed_services(previous_records, plan)


def leaving_servers(service, kernel_services):
    """Real servers the kernel holds for an expanded service that the estate no longer lists."""
    return _estate.leaving_servers(service, kernel_services)


def kernel_servers(ident, kernel_services):
    """The real servers the kernel holds for one service (named by service_ident or a director record)."""
    return _estate.kernel_servers(ident, kernel_services)


def service_ident(service):
    """The options that name a service to ipvs_service / ipvs_server."""
    return _estate.service_ident(service)


class FilterModule(object):
    def filters(self):
        return {
            'virtual_services': virtual_services,
            'ipvs_service_args': ipvs_service_args,
            'served_by': served_by,
            'proxy_services': proxy_services,
            'realserver_plan': realserver_plan,
            'ipvsadm_rules': ipvsadm_rules,
            'director_plan': director_plan,
            'removed_services': removed_services,
            'leaving_servers': leaving_servers,
            'service_ident': service_ident,
            'kernel_servers': kernel_servers,
        }
