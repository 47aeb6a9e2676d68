# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the estate's one data model (lvs_virtual_services); see docs/estate.md.

virtual_services expands the estate against the inventory; every other filter takes its result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.plugin_utils import (
    _director_plan, _estate, _hostvars, _ipvs_rules, _readiness, _realserver_plan)
from ansible_collections.lvs.cluster.plugins.plugin_utils._filter_errors import refusing


@refusing('bad estate')
def virtual_services(services, hostvars, groups):
    """lvs_virtual_services checked and expanded: each service with its real servers as ``members``.

    An estate this filter already expanded (a play's fact, passed as a role's <role>_virtual_services) is
    returned as it is, so that a play expands the estate once.
    """
    if _estate.is_expanded(services):
        return services
    return _estate.virtual_services(services, _hostvars.read_hostvars(hostvars, groups), dict(groups))


def ipvs_service_args(service):
    """The arguments of lvs.cluster.ipvs_service that converge one expanded service."""
    return _ipvs_rules.ipvs_service_args(service)


def served_by(services, host):
    """The expanded services the host is a real server of, each with the host's entry as ``member``."""
    return _estate.served_by(services, host)


def realserver_estates(services):
    """{real server: the expanded services it is a member of, each with its own member entry alone}."""
    return _estate.by_realserver(services)


def proxy_services(services, host, owner):
    """The proxy services one host serves with haproxy or nginx (owner), each with its pools and routes."""
    return _estate.proxy_services(services, host, owner)


@refusing('bad estate')
def realserver_plan(services, host):
    """What one real server needs: VIPs per device, ARP settings, tunnel modules, its NAT gateway."""
    return _realserver_plan.realserver_plan(services, host)


def realserver_record_union(previous, plan):
    """A real server's record before a run changes anything: what the previous record and the plan set."""
    return _realserver_plan.record_union(previous, plan)


@refusing('bad estate')
def ipvsadm_rules(services):
    """Expanded services as ipvsadm-restore lines (the table a director restores at boot)."""
    return _ipvs_rules.ipvsadm_rules(services)


@refusing('bad estate')
def director_plan(services, ipvs_sysctls=None):
    """What a director needs for the services it owns: kernel modules, sysctls, VIPs, saved table, records."""
    return _director_plan.director_plan(services, ipvs_sysctls)


def removed_services(previous_records, plan):
    """Records of services a director programmed before and must now remove."""
    return _director_plan.removed_services(previous_records, plan)


def leaving_servers(service, kernel_services):
    """Real servers the kernel holds for an expanded service that the estate no longer lists."""
    return _director_plan.leaving_servers(service, kernel_services)


def kernel_servers(ident, kernel_services):
    """The real servers the kernel holds for one service (named by service_ident or a director record)."""
    return _director_plan.kernel_servers(ident, kernel_services)


def service_ident(service):
    """The options that name a service to ipvs_service / ipvs_server."""
    return _ipvs_rules.service_ident(service)


@refusing('ready_members')
def ready_members(services, unready, kernel_services=None, live_config=None):
    """The expanded estate with unready real servers left out of the pools they would join (kept where they serve)."""
    return _readiness.ready_members(services, unready, kernel_services, live_config)


@refusing('unready_left_out')
def unready_left_out(services, unready, kernel_services=None, live_config=None):
    """The 'host (service)' pairs that ready_members leaves out."""
    return _readiness.left_out(services, _readiness.ready_members(services, unready, kernel_services, live_config))


class FilterModule(object):
    def filters(self):
        return {
            'virtual_services': virtual_services,
            'ipvs_service_args': ipvs_service_args,
            'served_by': served_by,
            'realserver_estates': realserver_estates,
            'proxy_services': proxy_services,
            'realserver_plan': realserver_plan,
            'realserver_record_union': realserver_record_union,
            'ipvsadm_rules': ipvsadm_rules,
            'director_plan': director_plan,
            'removed_services': removed_services,
            'leaving_servers': leaving_servers,
            'service_ident': service_ident,
            'kernel_servers': kernel_servers,
            'ready_members': ready_members,
            'unready_left_out': unready_left_out,
        }
