# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter the roles pick their per-OS values with."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.plugin_utils import _os_family
from ansible_collections.lvs.cluster.plugins.plugin_utils._filter_errors import refusing


@refusing('no values for this OS')
def os_family_values(by_family, facts, role):
    """by_family[ansible_facts.os_family], or an error naming the role's variables to set."""
    return _os_family.values(by_family, facts, role)


class FilterModule(object):
    def filters(self):
        return {'os_family_values': os_family_values}
