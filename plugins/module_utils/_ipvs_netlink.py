# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generic netlink for the IPVS modules, on Python's own AF_NETLINK socket: framing, attributes, batches.

Why not pyroute2 here: at 1,000 services x 10 real servers the modules spent most of their time in
pyroute2's message objects (bench/profile: 2,000 real-server entries read in 5.4 s on a lab host, most of
it get_attr() rescanning the attribute list and decoding counters), and importing pyroute2 alone costs
0.35-0.5 s of CPU natively (0.7.2 and 0.9.7), several seconds in the emulated lab guest, for every module
run. The IPVS family needs a dozen fixed-layout attributes, read here in one pass with struct.unpack_from
over the received buffer, and many requests go in one send with their acknowledgements read in one go.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import socket
import struct

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10  # errors acknowledged without a copy of the refused request
SO_RCVBUFFORCE = 33

NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLMSG_NOOP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_OVERRUN = 4

GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2

NLA_TYPE_MASK = 0x3fff  # without NLA_F_NESTED and NLA_F_NET_BYTEORDER
HEADER = struct.Struct('=IHHII')  # struct nlmsghdr: length, type, flags, sequence, port id
GENL_HEADER = struct.Struct('=BBH')  # struct genlmsghdr: command, version, reserved
ATTR_HEADER = struct.Struct('=HH')  # struct nlattr: length, type
HEADERS_SIZE = HEADER.size + GENL_HEADER.size

# Requests per send. Every acknowledgement is a buffer of its own in the socket's receive queue (about 1 KiB
# each with overhead, a GET two): a batch must fit the receive buffer, or the kernel drops acknowledgements (ENOBUFS).
BATCH = 100
RECEIVE_BUFFER = 4 * 1024 * 1024
READ_SIZE = 256 * 1024
TIMEOUT = 60.0


class NetlinkError(OSError):
    """The kernel answered a request with an error (errno in .errno)."""


def attr(kind, payload):
    """One attribute, padded to 4 bytes."""
    size = ATTR_HEADER.size + len(payload)
    return ATTR_HEADER.pack(size, kind) + payload + b'\0' * (-size & 3)


def attr_u8(kind, value):
    return attr(kind, struct.pack('=B', value))


def attr_u16(kind, value):
    return attr(kind, struct.pack('=H', value))


def attr_be16(kind, value):
    return attr(kind, struct.pack('!H', value))


def attr_u32(kind, value):
    return attr(kind, struct.pack('=I', value))


def attr_str(kind, text):
    return attr(kind, text.encode('ascii') + b'\0')


def attrs(buf, start, end):
    """{type: (payload offset, payload length)} of the attributes in buf[start:end], in one pass."""
    found = {}
    unpack = ATTR_HEADER.unpack_from
    while start + 4 <= end:
        size, kind = unpack(buf, start)
        if size < 4:
            break
        found[kind & NLA_TYPE_MASK] = (start + 4, size - 4)
        start += (size + 3) & ~3
    return found


class GenericNetlink(object):
    """One generic netlink socket bound to one family (by name), with batched requests."""

    def __init__(self, family_name):
        self.family_name = family_name
        self.family = None
        self.sequence = 0
        self.sock = None
        self.buffer = bytearray(READ_SIZE)

    def open(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)
        except OSError:  # without CAP_NET_ADMIN: the usual cap (rmem_max) applies, BATCH stays within it
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        try:
            self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        except OSError:  # older kernels: errors then carry the refused request, which is only read past
            pass
        self.sock.settimeout(TIMEOUT)
        self.sock.bind((0, 0))
        request = self.message(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, attr_str(CTRL_ATTR_FAMILY_NAME, self.family_name), NLM_F_ACK)
        (answer,) = self.run([request])
        if isinstance(answer, NetlinkError):
            raise answer
        reply = answer[0]
        found = attrs(reply[0], reply[1], reply[2])
        offset, _size = found[CTRL_ATTR_FAMILY_ID]
        self.family = struct.unpack_from('=H', reply[0], offset)[0]
        return self

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def message(self, family, command, payload, flags, version=1):
        """A request (bytes with its sequence number); flags: NLM_F_ACK or NLM_F_DUMP besides NLM_F_REQUEST."""
        self.sequence += 1
        size = HEADERS_SIZE + len(payload)
        return (HEADER.pack(size, family, NLM_F_REQUEST | flags, self.sequence, 0) + GENL_HEADER.pack(command, version, 0)
                + payload, self.sequence)

    def request(self, command, payload, flags=NLM_F_ACK):
        return self.message(self.family, command, payload, flags)

    def run(self, requests):
        """Send the requests (each with NLM_F_ACK) in batches and read every answer.

        Returns, per request in order, its reply messages as (buffer, attributes start, end) tuples; a
        request the kernel refused gives a NetlinkError instead of the list. The kernel carries on with the
        next request of a batch after refusing one, so each answer is the outcome of its own request.
        """
        results = []
        for first in range(0, len(requests), BATCH):
            batch = requests[first:first + BATCH]
            self.sock.sendall(b''.join(data for data, _sequence in batch))
            results.extend(self._collect([sequence for _data, sequence in batch]))
        return results

    def dump(self, request):
        """The reply messages of one dump request (a socket runs one dump at a time); raises NetlinkError."""
        self.sock.sendall(request[0])
        (answer,) = self._collect([request[1]])
        if isinstance(answer, NetlinkError):
            raise answer
        return answer

    def _collect(self, sequences):
        pending = dict((sequence, []) for sequence in sequences)
        answers = dict(pending)
        last = sequences[-1]
        first = sequences[0]
        view = self.buffer
        while pending:
            size = self.sock.recv_into(view)
            # A copy per datagram: replies are decoded after later reads reuse the buffer.
            data = bytes(view[:size])
            offset = 0
            while offset + HEADER.size <= size:
                length, kind, _flags, sequence, _port = HEADER.unpack_from(data, offset)
                if length < HEADER.size:
                    break
                if first <= sequence <= last and sequence in pending:
                    if kind == NLMSG_ERROR or kind == NLMSG_DONE:
                        code = -struct.unpack_from('=i', data, offset + HEADER.size)[0] if length >= HEADER.size + 4 else 0
                        if code:
                            answers[sequence] = NetlinkError(code, os.strerror(code))
                        del pending[sequence]
                    elif kind == NLMSG_OVERRUN:
                        raise NetlinkError(errno.ENOBUFS, 'netlink overrun: replies were lost')
                    elif kind != NLMSG_NOOP:
                        answers[sequence].append((data, offset + HEADERS_SIZE, offset + length))
                offset += (length + 3) & ~3
        return [answers[sequence] for sequence in sequences]
