# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter for the nginx_upstream role: what nginx serves on one proxy host, checked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.plugin_utils import _estate, _nginx_plan
from ansible_collections.lvs.cluster.plugins.plugin_utils._filter_errors import refusing


@refusing('bad nginx settings')
def nginx_upstream_plan(services, host, defaults):
    """Upstream groups and server blocks (http and stream) for the proxy services nginx serves on the host,
    from the expanded estate."""
    return _nginx_plan.plan(_estate.proxy_services(services, host, 'nginx'), dict(defaults or {}))


class FilterModule(object):
    def filters(self):
        return {'nginx_upstream_plan': nginx_upstream_plan}
