# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter for the nginx_upstream role: what nginx serves on one proxy host, checked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils import _nginx


def nginx_upstream_plan(services, defaults):
    """Upstream groups and server blocks (http and stream) for the proxy services nginx serves on a host."""
    try:
        return _nginx.plan(services, dict(defaults or {}))
    except _nginx.NginxError as exc:
        raise AnsibleFilterError('bad nginx settings: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'nginx_upstream_plan': nginx_upstream_plan}
