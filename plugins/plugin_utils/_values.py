# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one set of value checks of the controller-side plans (the estate, keepalived, nginx).

Each check takes ``where``, the full path of the option in the user's variables (for example
``lvs_virtual_services[web].health_check.interval``), and raises PlanError naming it and the reason.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re


class PlanError(ValueError):
    """A bad estate or role setting: the message names the variable and the reason."""


def integer(value, where, low, high):
    """A whole number between low and high; a string of digits is read as one, a float or a boolean is not."""
    if isinstance(value, bool) or isinstance(value, float) and value != int(value):
        raise PlanError('%s must be an integer, not %r' % (where, value))
    try:
        number = int(value) if not isinstance(value, str) else int(value.strip(), 10)
    except (TypeError, ValueError):
        raise PlanError('%s must be an integer, not %r' % (where, value))
    if not low <= number <= high:
        raise PlanError('%s is %d; it must be between %d and %d' % (where, number, low, high))
    return number


def boolean(value, where):
    if not isinstance(value, bool):
        raise PlanError('%s must be true or false, not %r' % (where, value))
    return value


def text(value, where):
    """A non-empty one-line string."""
    if not isinstance(value, str) or not value.strip() or '\n' in value:
        raise PlanError('%s must be a non-empty one-line string, not %r' % (where, value))
    return value


def lines(value, where):
    """A list of non-blank one-line strings (raw lines copied into a configuration block)."""
    if not isinstance(value, list) or not all(isinstance(line, str) and line.strip() and '\n' not in line
                                              for line in value):
        raise PlanError('%s must be a list of one-line strings, none blank (lines copied into the configuration'
                        ' block as they are), not %r' % (where, value))
    return list(value)


def refuse_brackets(value, where):
    """Refuse an address written in brackets (a URL's host part): the estate takes bare IPv6 addresses."""
    if str(value).strip().startswith('['):
        raise PlanError('%s: %r is in brackets; give the IPv6 address without them' % (where, value))


def address(value, where):
    """An IP address (IPv6 without brackets), as an ipaddress object."""
    refuse_brackets(value, where)
    try:
        return ipaddress.ip_address(str(value))
    except ValueError:
        raise PlanError('%s: %r is not an IP address' % (where, value))


def listen(svc, where, lowest_port, what):
    """A service's VIP and port, checked, and the family its VIP gives it (set in svc)."""
    if 'address' not in svc or 'port' not in svc:
        raise PlanError('%s needs address and port (%s)' % (where, what))
    vip = address(svc['address'], where + '.address')
    svc['address'] = str(vip)
    svc['family'] = 'ipv6' if vip.version == 6 else 'ipv4'
    svc['port'] = integer(svc['port'], where + '.port', lowest_port, 65535)


def mapping(value, where, keys):
    """A mapping with only the given keys; keys whose value is None are dropped."""
    if not isinstance(value, dict):
        raise PlanError('%s must be a mapping, not %s' % (where, type(value).__name__))
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise PlanError('%s has unknown key(s) %s; known keys: %s' % (where, ', '.join(unknown), ', '.join(keys)))
    return {key: item for key, item in value.items() if item is not None}


def choice(value, where, choices):
    if value not in choices:
        raise PlanError('%s is %r; it must be one of %s' % (where, value, ', '.join(choices)))
    return value


def quote(value):
    """A keepalived string argument: quoted when it has blanks, with its quotes escaped."""
    value = str(value)
    if re.search(r'[\s"#!]', value):
        return '"%s"' % value.replace('\\', '\\\\').replace('"', '\\"')
    return value
