# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in for the kernel's IPVS generic netlink family, for unit tests without a kernel.

It replaces only the socket (_ipvs_netlink.GenericNetlink's transport): the real IpvsClient encodes
every request, this parses the bytes, keeps a table and answers like ip_vs_ctl.c does (EEXIST, ESRCH,
ENOENT for a missing real server or a scheduler it lacks; the rest of a batch carried on after a
refusal), and the real client decodes the answers. The real-kernel proof is the lab's modules scenario.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import struct

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs as ipvs
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as nl
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_values as values

LACKING_SCHEDULERS = ('twos',)  # as Linux 6.1, the lab's kernel


def stats_attrs(kind, connections):
    """A STATS64 nest with every counter at connections (and its rates), as the kernel sends it."""
    inner = b''.join(nl.attr(number, struct.pack('=Q', connections + number)) for number in range(1, 11))
    return nl.attr(kind, inner)


class Kernel(object):
    """The IPVS table: {service key: (service, {server key: server})}, and what the tests script."""

    def __init__(self):
        self.table = {}
        self.order = []
        # (address, port) -> counts, one per read of the servers (the last repeats): an active count, or
        # (active, inactive, persistence templates)
        self.active = {}
        self.refuse = {}           # (command, address or scheduler) -> errno, refused like the kernel would
        self.writes = 0
        self.reads = 0
        self.missing = False       # no IPVS family at all
        self.sent = []             # (command, dump) of every request

    def add(self, service_params, servers=()):
        """Put a service (module options) and its real servers (entries) into the table, as ipvsadm would."""
        from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_options as options
        service = options.service_from_params(dict(service_params))
        key = values.service_key(service)
        self.table[key] = (service, dict((values.server_key(server), server)
                                         for server in options.servers_from_params(list(servers), service) or []))
        self.order.append(key)

    def answer(self, data):
        length, _kind, flags, _sequence, _port = nl.HEADER.unpack_from(data, 0)
        command = data[nl.HEADER.size]
        found = nl.attrs(data, nl.HEADERS_SIZE, length)
        self.sent.append((command, bool(flags & nl.NLM_F_DUMP)))
        service = server = None
        if ipvs.CMD_ATTR_SERVICE in found:
            start, size = found[ipvs.CMD_ATTR_SERVICE]
            service = ipvs.decode_service(data, start, start + size, counters=False)
        if ipvs.CMD_ATTR_DEST in found:
            start, size = found[ipvs.CMD_ATTR_DEST]
            server = ipvs.decode_server(service, data, start, start + size, counters=False)
        return self.execute(command, service, server)

    def execute(self, command, service, server):
        key = values.service_key(service) if service and (service['fwmark'] or service['address']) else None
        entry = self.table.get(key)
        for what in (service and service.get('scheduler'), server and server['address']):
            if (command, what) in self.refuse:
                return self.refuse[(command, what)]
        if command in (ipvs.CMD_NEW_SERVICE, ipvs.CMD_SET_SERVICE) and service['scheduler'] in LACKING_SCHEDULERS:
            return errno.ENOENT
        if command == ipvs.CMD_GET_SERVICE:
            if key is None:
                return [self.reply(ipvs.CMD_ATTR_SERVICE, self.table[k][0]) for k in self.order]
            return [self.reply(ipvs.CMD_ATTR_SERVICE, entry[0])] if entry else errno.ESRCH
        if command == ipvs.CMD_NEW_SERVICE:
            if entry:
                return errno.EEXIST
            self.table[key] = (service, {})
            self.order.append(key)
        elif entry is None:
            return errno.ESRCH
        elif command == ipvs.CMD_GET_DEST:
            self.reads += 1
            return [self.reply(ipvs.CMD_ATTR_DEST, entry[0], self.counted(item)) for item in entry[1].values()]
        elif command == ipvs.CMD_SET_SERVICE:
            entry[0].update(dict((name, service[name]) for name in values.SERVICE_SETTINGS))
        elif command == ipvs.CMD_DEL_SERVICE:
            del self.table[key]
            self.order.remove(key)
        elif command == ipvs.CMD_NEW_DEST:
            if values.server_key(server) in entry[1]:
                return errno.EEXIST
            entry[1][values.server_key(server)] = server
        elif values.server_key(server) not in entry[1]:
            return errno.ENOENT
        elif command == ipvs.CMD_SET_DEST:
            entry[1][values.server_key(server)].update(dict((name, server[name]) for name in values.SERVER_SETTINGS))
        elif command == ipvs.CMD_DEL_DEST:
            del entry[1][values.server_key(server)]
        self.writes += 1
        return 0

    def counted(self, server):
        counts = self.active.get(values.server_key(server))
        if counts:
            count = counts.pop(0) if len(counts) > 1 else counts[0]
            active, inactive, persistent = count if isinstance(count, tuple) else (count, 0, 0)
            server = dict(server, active_connections=active, inactive_connections=inactive, persistent_connections=persistent)
        return server

    def reply(self, kind, service, server=None):
        if server is None:
            nest = ipvs.service_full_attrs(service) + stats_attrs(ipvs.SVC_STATS64, 100)
        else:
            nest = (ipvs.server_full_attrs(service, server) + nl.attr_u32(ipvs.DEST_ACTIVE_CONNS, server.get('active_connections', 0))
                    + nl.attr_u32(ipvs.DEST_INACT_CONNS, server.get('inactive_connections', 0))
                    + nl.attr_u32(ipvs.DEST_PERSIST_CONNS, server.get('persistent_connections', 0))
                    + stats_attrs(ipvs.DEST_STATS64, 10))
        data = nl.HEADER.pack(0, 99, 0, 0, 0) + nl.GENL_HEADER.pack(1, 1, 0) + nl.attr(kind, nest)
        return (data, nl.HEADERS_SIZE, len(data))

    def rules(self):
        from ansible_collections.lvs.cluster.plugins.module_utils import _ipvsadm
        return ''.join(_ipvsadm.render_rules(self.table[key][0], list(self.table[key][1].values())) for key in self.order)


class FakeNetlink(nl.GenericNetlink):
    """GenericNetlink whose transport is KERNEL: the requests are the real client's bytes."""

    kernel = None

    def open(self):
        if self.kernel.missing:
            raise nl.NetlinkError(errno.ENOENT, os.strerror(errno.ENOENT))
        self.family = 99
        return self

    def close(self):
        pass

    def run(self, requests):
        answers = []
        for data, _sequence in requests:
            outcome = self.kernel.answer(data)
            answers.append(nl.NetlinkError(outcome, os.strerror(outcome)) if isinstance(outcome, int) and outcome else
                           (outcome or []))
        return answers

    def dump(self, request):
        outcome = self.kernel.answer(request[0])
        if isinstance(outcome, int):
            raise nl.NetlinkError(outcome, os.strerror(outcome))
        return outcome


def install(monkeypatch):
    """Put a fresh Kernel behind every IpvsClient; returns it."""
    kernel = Kernel()
    monkeypatch.setattr(FakeNetlink, 'kernel', kernel)
    monkeypatch.setattr(nl, 'GenericNetlink', FakeNetlink)
    return kernel
