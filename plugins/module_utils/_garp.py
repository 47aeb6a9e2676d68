# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gratuitous ARP for director_vip: the frames, and sending them on a device.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import socket
import struct

ARPHRD_ETHER = 1
ETH_P_ARP = 0x0806


def garp_frames(mac, ip):
    """Two gratuitous ARP frames announcing ip at mac: a request (who-has ip tell ip, RFC 5227's
    announcement) and a reply (ip is-at mac), both to the broadcast address, padded to 60 bytes."""
    ip_bytes = ipaddress.IPv4Address(ip).packed
    frames = []
    for opcode, target_mac in ((1, b'\x00' * 6), (2, b'\xff' * 6)):
        frame = (b'\xff' * 6 + mac + struct.pack('!H', ETH_P_ARP)
                 + struct.pack('!HHBBH', ARPHRD_ETHER, 0x0800, 6, 4, opcode)
                 + mac + ip_bytes + target_mac + ip_bytes)
        frames.append(frame + b'\x00' * (60 - len(frame)))
    return frames


def send_gratuitous_arp(device, ips):
    """Send garp_frames for each IPv4 address on device over an AF_PACKET socket.

    Returns None, or why nothing was sent (not an Ethernet device); socket errors propagate."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))  # pylint: disable=no-member
    try:
        sock.bind((device, ETH_P_ARP))
        hatype, mac = sock.getsockname()[3:5]
        if hatype != ARPHRD_ETHER or len(mac) != 6:
            return '%s is not an Ethernet device (hardware type %d)' % (device, hatype)
        for ip in ips:
            for frame in garp_frames(mac, ip):
                sock.send(frame)
        return None
    finally:
        sock.close()
