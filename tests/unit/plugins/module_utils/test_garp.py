# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_garp: the gratuitous ARP frames."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

from ansible_collections.lvs.cluster.plugins.module_utils import _garp


def test_gratuitous_arp_frames():
    mac = b'\x02\x00\x00\x97\x00\x01'
    request, reply = _garp.garp_frames(mac, '10.97.0.10')
    ip = bytes([10, 97, 0, 10])
    for frame in (request, reply):
        assert len(frame) == 60
        assert frame[:6] == b'\xff' * 6 and frame[6:12] == mac
        assert struct.unpack('!H', frame[12:14])[0] == 0x0806
        hardware, protocol, hlen, plen = struct.unpack('!HHBB', frame[14:20])
        assert (hardware, protocol, hlen, plen) == (1, 0x0800, 6, 4)
        assert frame[22:28] == mac and frame[28:32] == ip and frame[38:42] == ip
    assert struct.unpack('!H', request[20:22])[0] == 1 and request[32:38] == b'\x00' * 6
    assert struct.unpack('!H', reply[20:22])[0] == 2 and reply[32:38] == b'\xff' * 6
