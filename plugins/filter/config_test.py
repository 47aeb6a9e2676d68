# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter for the keepalived, haproxy and nginx_upstream roles: what their daemon's configuration test refused."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.plugin_utils import _config_test


def config_test_error(output, daemon, files):
    """The refused lines of a failed configuration test quoted, each with the extra variable that added it."""
    return _config_test.explain(daemon, output or '', dict(files or {}))


class FilterModule(object):
    def filters(self):
        return {'config_test_error': config_test_error}
