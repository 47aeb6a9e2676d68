# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter for the haproxy role: haproxy.cfg on one proxy host, checked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.plugin_utils import _haproxy
from ansible_collections.lvs.cluster.plugins.plugin_utils._filter_errors import refusing


@refusing('bad haproxy settings')
def haproxy_plan(expanded, host, settings):
    """haproxy.cfg's sections for the proxy services haproxy serves on a host, from the expanded estate."""
    return _haproxy.plan(expanded, host, dict(settings or {}))


class FilterModule(object):
    def filters(self):
        return {'haproxy_plan': haproxy_plan}
