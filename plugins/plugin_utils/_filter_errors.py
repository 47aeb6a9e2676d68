# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the filter plugins report a refused estate or setting to Ansible.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.plugin_utils._values import PlanError


def refusing(prefix):
    """Turn a PlanError of the wrapped filter into the filter error Ansible reports, with its message."""
    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except PlanError as exc:
                raise AnsibleFilterError('%s: %s' % (prefix, exc))
        return wrapper
    return decorate
