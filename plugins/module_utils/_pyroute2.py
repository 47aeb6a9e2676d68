# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Import pyroute2 once, and say clearly when it is missing or too old.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import missing_required_lib

# The oldest release measured to work. The IPVS modules use only GenericNetlinkSocket, genlmsg/nla and
# their own IPVS message classes (not pyroute2's IPVS layer, which even 0.9.7 gets wrong), and pass their
# encode/decode tests and a real-kernel create/update/drain/remove run with 0.7.2 (Debian 12's
# python3-pyroute2 version), 0.8.1 and 0.9.7. lo_vip, director_vip and nat_route (IPRoute only) pass their
# in-namespace module tests with 0.7.2 and 0.9.7.
MINIMUM_VERSION = (0, 7, 2)
MINIMUM_VERSION_TEXT = '.'.join(str(part) for part in MINIMUM_VERSION)

PYROUTE2_IMPORT_ERROR = None
PYROUTE2_VERSION = None
try:
    import pyroute2  # noqa: F401  pylint: disable=unused-import
    try:
        from importlib.metadata import version as _dist_version
        PYROUTE2_VERSION = _dist_version('pyroute2')
    except Exception:  # pylint: disable=broad-except
        PYROUTE2_VERSION = getattr(pyroute2, '__version__', None)
except ImportError:
    PYROUTE2_IMPORT_ERROR = traceback.format_exc()


def _version_tuple(text):
    parts = []
    for piece in str(text).split('.'):
        digits = ''
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def require_pyroute2(module):
    """Fail the module with an actionable message unless a recent enough pyroute2 imports."""
    if PYROUTE2_IMPORT_ERROR is not None:
        module.fail_json(
            msg=missing_required_lib(
                'pyroute2 >= %s' % MINIMUM_VERSION_TEXT,
                reason='to talk netlink to the kernel',
                url='https://pypi.org/project/pyroute2/'),
            exception=PYROUTE2_IMPORT_ERROR)
    if PYROUTE2_VERSION and _version_tuple(PYROUTE2_VERSION) < MINIMUM_VERSION:
        module.fail_json(
            msg='pyroute2 %s is installed on the target, but this module needs pyroute2 >= %s '
                '(older releases lack or misread IPVS netlink attributes). The roles of lvs.cluster '
                'install a suitable wheel from the controller.' % (PYROUTE2_VERSION, MINIMUM_VERSION_TEXT))
